CREATE TABLE IF NOT EXISTS `presentity` (
	`id` int unsigned AUTO_INCREMENT NOT NULL,
	`username` varchar(64) NOT NULL,
	`domain` varchar(64) NOT NULL,
	`event` varchar(64) NOT NULL,
	`etag` varchar(128) NOT NULL,
	`expires` int NOT NULL,
	`received_time` int NOT NULL,
	`body` blob NOT NULL,
	`sender` varchar(255) NOT NULL,
	`priority` int NOT NULL DEFAULT 0,
	`ruid` varchar(64),
	CONSTRAINT `presentity_id` PRIMARY KEY(`id`),
	CONSTRAINT `presentity_idx` UNIQUE(`username`,`domain`,`event`,`etag`),
	CONSTRAINT `ruid_idx` UNIQUE(`ruid`),
	INDEX `presentity_expires` (`expires`),
	INDEX `account_idx` (`username`,`domain`,`event`)
);
--> statement-breakpoint
CREATE TABLE IF NOT EXISTS `active_watchers` (
	`id` int unsigned AUTO_INCREMENT NOT NULL,
	`presentity_uri` varchar(255) NOT NULL,
	`watcher_username` varchar(64) NOT NULL,
	`watcher_domain` varchar(64) NOT NULL,
	`to_user` varchar(64) NOT NULL,
	`to_domain` varchar(64) NOT NULL,
	`event` varchar(64) NOT NULL DEFAULT 'presence',
	`event_id` varchar(64),
	`to_tag` varchar(128) NOT NULL,
	`from_tag` varchar(128) NOT NULL,
	`callid` varchar(255) NOT NULL,
	`local_cseq` int NOT NULL,
	`remote_cseq` int NOT NULL,
	`contact` varchar(255) NOT NULL,
	`record_route` text,
	`expires` int NOT NULL,
	`status` int NOT NULL DEFAULT 2,
	`reason` varchar(64),
	`version` int NOT NULL DEFAULT 0,
	`socket_info` varchar(64) NOT NULL,
	`local_contact` varchar(255) NOT NULL,
	`from_user` varchar(64) NOT NULL,
	`from_domain` varchar(64) NOT NULL,
	`updated` int NOT NULL,
	`updated_winfo` int NOT NULL,
	`flags` int NOT NULL DEFAULT 0,
	`user_agent` varchar(255) DEFAULT '',
	CONSTRAINT `active_watchers_id` PRIMARY KEY(`id`),
	CONSTRAINT `active_watchers_idx` UNIQUE(`callid`,`to_tag`,`from_tag`),
	INDEX `active_watchers_expires` (`expires`),
	INDEX `active_watchers_pres` (`presentity_uri`,`event`),
	INDEX `updated_idx` (`updated`),
	INDEX `updated_winfo_idx` (`updated_winfo`,`presentity_uri`)
);
--> statement-breakpoint
CREATE TABLE IF NOT EXISTS `watchers` (
	`id` int unsigned AUTO_INCREMENT NOT NULL,
	`presentity_uri` varchar(255) NOT NULL,
	`watcher_username` varchar(64) NOT NULL,
	`watcher_domain` varchar(64) NOT NULL,
	`event` varchar(64) NOT NULL DEFAULT 'presence',
	`status` int NOT NULL,
	`reason` varchar(64),
	`inserted_time` int NOT NULL,
	CONSTRAINT `watchers_id` PRIMARY KEY(`id`),
	CONSTRAINT `watcher_idx` UNIQUE(`presentity_uri`,`watcher_username`,`watcher_domain`,`event`)
);
--> statement-breakpoint
CREATE TABLE IF NOT EXISTS `silo` (
	`id` int unsigned AUTO_INCREMENT NOT NULL,
	`src_addr` varchar(255) NOT NULL DEFAULT '',
	`dst_addr` varchar(255) NOT NULL DEFAULT '',
	`username` varchar(64) NOT NULL DEFAULT '',
	`domain` varchar(64) NOT NULL DEFAULT '',
	`inc_time` int NOT NULL DEFAULT 0,
	`exp_time` int NOT NULL DEFAULT 0,
	`snd_time` int NOT NULL DEFAULT 0,
	`ctype` varchar(32) NOT NULL DEFAULT 'text/plain',
	`body` blob,
	`extra_hdrs` text,
	`callid` varchar(128) NOT NULL DEFAULT '',
	`status` int NOT NULL DEFAULT 0,
	CONSTRAINT `silo_id` PRIMARY KEY(`id`),
	INDEX `account_idx` (`username`,`domain`)
);
--> statement-breakpoint
-- Kamailio's version rows of the presence and msilo tables (presence-create.sql, msilo-create.sql);
-- INSERT IGNORE keeps existing ones. xcap and pua are not created: Olelo has no XCAP server and no pua.
INSERT IGNORE INTO `version` (`table_name`, `table_version`) VALUES
	('presentity', 5),
	('active_watchers', 12),
	('watchers', 3),
	('silo', 8);
