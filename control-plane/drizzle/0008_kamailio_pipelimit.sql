-- Kamailio's pipelimit table (/usr/share/kamailio/mysql/pipelimit-create.sql) and its version row.
CREATE TABLE IF NOT EXISTS `pl_pipes` (
	`id` int unsigned AUTO_INCREMENT NOT NULL,
	`pipeid` varchar(64) NOT NULL DEFAULT '',
	`algorithm` varchar(32) NOT NULL DEFAULT '',
	`plimit` int NOT NULL DEFAULT 0,
	CONSTRAINT `pl_pipes_id` PRIMARY KEY(`id`)
);
--> statement-breakpoint
INSERT IGNORE INTO `version` (`table_name`, `table_version`) VALUES ('pl_pipes', 1);
