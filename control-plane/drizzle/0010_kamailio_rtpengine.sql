CREATE TABLE IF NOT EXISTS `rtpengine` (
	`id` int unsigned AUTO_INCREMENT NOT NULL,
	`setid` int unsigned NOT NULL DEFAULT 0,
	`url` varchar(64) NOT NULL,
	`weight` int unsigned NOT NULL DEFAULT 1,
	`disabled` int NOT NULL DEFAULT 0,
	`stamp` datetime NOT NULL DEFAULT '1900-01-01 00:00:01',
	CONSTRAINT `rtpengine_id` PRIMARY KEY(`id`),
	CONSTRAINT `rtpengine_nodes` UNIQUE(`setid`,`url`)
);
--> statement-breakpoint
-- Kamailio's version row for rtpengine (rtpengine-create.sql); INSERT IGNORE keeps an existing one.
INSERT IGNORE INTO `version` (`table_name`, `table_version`) VALUES
	('rtpengine', 1);
