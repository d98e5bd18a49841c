CREATE TABLE IF NOT EXISTS `dialplan` (
	`id` int unsigned AUTO_INCREMENT NOT NULL,
	`dpid` int NOT NULL,
	`pr` int NOT NULL,
	`match_op` int NOT NULL,
	`match_exp` varchar(64) NOT NULL,
	`match_len` int NOT NULL,
	`subst_exp` varchar(64) NOT NULL,
	`repl_exp` varchar(256) NOT NULL,
	`attrs` varchar(64) NOT NULL,
	CONSTRAINT `dialplan_id` PRIMARY KEY(`id`)
);
--> statement-breakpoint
CREATE TABLE IF NOT EXISTS `domain` (
	`id` int unsigned AUTO_INCREMENT NOT NULL,
	`domain` varchar(64) NOT NULL,
	`did` varchar(64),
	`last_modified` datetime NOT NULL DEFAULT '2000-01-01 00:00:01',
	CONSTRAINT `domain_id` PRIMARY KEY(`id`),
	CONSTRAINT `domain_idx` UNIQUE(`domain`)
);
--> statement-breakpoint
CREATE TABLE IF NOT EXISTS `domain_attrs` (
	`id` int unsigned AUTO_INCREMENT NOT NULL,
	`did` varchar(64) NOT NULL,
	`name` varchar(32) NOT NULL,
	`type` int unsigned NOT NULL,
	`value` varchar(255) NOT NULL,
	`last_modified` datetime NOT NULL DEFAULT '2000-01-01 00:00:01',
	CONSTRAINT `domain_attrs_id` PRIMARY KEY(`id`),
	INDEX `domain_attrs_idx` (`did`,`name`)
);
--> statement-breakpoint
INSERT IGNORE INTO `version` (`table_name`, `table_version`) VALUES
	('dialplan', 2),
	('domain', 2),
	('domain_attrs', 1);
