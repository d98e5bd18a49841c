CREATE TABLE IF NOT EXISTS `uacreg` (
	`id` int unsigned AUTO_INCREMENT NOT NULL,
	`l_uuid` varchar(64) NOT NULL DEFAULT '',
	`l_username` varchar(64) NOT NULL DEFAULT '',
	`l_domain` varchar(64) NOT NULL DEFAULT '',
	`r_username` varchar(64) NOT NULL DEFAULT '',
	`r_domain` varchar(64) NOT NULL DEFAULT '',
	`realm` varchar(64) NOT NULL DEFAULT '',
	`auth_username` varchar(64) NOT NULL DEFAULT '',
	`auth_password` varchar(64) NOT NULL DEFAULT '',
	`auth_ha1` varchar(128) NOT NULL DEFAULT '',
	`auth_proxy` varchar(255) NOT NULL DEFAULT '',
	`expires` int NOT NULL DEFAULT 0,
	`flags` int NOT NULL DEFAULT 0,
	`reg_delay` int NOT NULL DEFAULT 0,
	`contact_addr` varchar(255) NOT NULL DEFAULT '',
	`socket` varchar(128) NOT NULL DEFAULT '',
	CONSTRAINT `uacreg_id` PRIMARY KEY(`id`),
	CONSTRAINT `l_uuid_idx` UNIQUE(`l_uuid`)
);
--> statement-breakpoint
-- Kamailio's version row for uacreg (uac-create.sql); INSERT IGNORE keeps an existing one.
INSERT IGNORE INTO `version` (`table_name`, `table_version`) VALUES
	('uacreg', 5);
