CREATE TABLE IF NOT EXISTS `olelo_callblock` (
	`id` int unsigned AUTO_INCREMENT NOT NULL,
	`username` varchar(64) NOT NULL DEFAULT '',
	`domain` varchar(64) NOT NULL DEFAULT '',
	`list_type` varchar(8) NOT NULL,
	`caller` varchar(128) NOT NULL,
	`description` varchar(64) NOT NULL DEFAULT '',
	CONSTRAINT `olelo_callblock_id` PRIMARY KEY(`id`),
	CONSTRAINT `callblock_idx` UNIQUE(`username`,`domain`,`list_type`,`caller`)
);
--> statement-breakpoint
CREATE TABLE IF NOT EXISTS `olelo_callfwd` (
	`id` int unsigned AUTO_INCREMENT NOT NULL,
	`username` varchar(64) NOT NULL DEFAULT '',
	`domain` varchar(64) NOT NULL DEFAULT '',
	`cf_type` varchar(16) NOT NULL,
	`target` varchar(255) NOT NULL,
	`timeout` int unsigned NOT NULL DEFAULT 0,
	`enabled` tinyint NOT NULL DEFAULT 1,
	`description` varchar(64) NOT NULL DEFAULT '',
	CONSTRAINT `olelo_callfwd_id` PRIMARY KEY(`id`),
	CONSTRAINT `callfwd_idx` UNIQUE(`username`,`domain`,`cf_type`)
);
