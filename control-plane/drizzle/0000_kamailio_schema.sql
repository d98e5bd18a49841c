CREATE TABLE IF NOT EXISTS `carrier_name` (
	`id` int unsigned AUTO_INCREMENT NOT NULL,
	`carrier` varchar(64),
	CONSTRAINT `carrier_name_id` PRIMARY KEY(`id`)
);
--> statement-breakpoint
CREATE TABLE IF NOT EXISTS `carrierfailureroute` (
	`id` int unsigned AUTO_INCREMENT NOT NULL,
	`carrier` int unsigned NOT NULL DEFAULT 0,
	`domain` int unsigned NOT NULL DEFAULT 0,
	`scan_prefix` varchar(64) NOT NULL DEFAULT '',
	`host_name` varchar(255) NOT NULL DEFAULT '',
	`reply_code` varchar(3) NOT NULL DEFAULT '',
	`flags` int unsigned NOT NULL DEFAULT 0,
	`mask` int unsigned NOT NULL DEFAULT 0,
	`next_domain` int unsigned NOT NULL DEFAULT 0,
	`description` varchar(255),
	CONSTRAINT `carrierfailureroute_id` PRIMARY KEY(`id`)
);
--> statement-breakpoint
CREATE TABLE IF NOT EXISTS `carrierroute` (
	`id` int unsigned AUTO_INCREMENT NOT NULL,
	`carrier` int unsigned NOT NULL DEFAULT 0,
	`domain` int unsigned NOT NULL DEFAULT 0,
	`scan_prefix` varchar(64) NOT NULL DEFAULT '',
	`flags` int unsigned NOT NULL DEFAULT 0,
	`mask` int unsigned NOT NULL DEFAULT 0,
	`prob` float NOT NULL DEFAULT 0,
	`strip` int unsigned NOT NULL DEFAULT 0,
	`rewrite_host` varchar(255) NOT NULL DEFAULT '',
	`rewrite_prefix` varchar(64) NOT NULL DEFAULT '',
	`rewrite_suffix` varchar(64) NOT NULL DEFAULT '',
	`description` varchar(255),
	CONSTRAINT `carrierroute_id` PRIMARY KEY(`id`)
);
--> statement-breakpoint
CREATE TABLE IF NOT EXISTS `dispatcher` (
	`id` int unsigned AUTO_INCREMENT NOT NULL,
	`setid` int NOT NULL DEFAULT 0,
	`destination` varchar(192) NOT NULL DEFAULT '',
	`flags` int NOT NULL DEFAULT 0,
	`priority` int NOT NULL DEFAULT 0,
	`attrs` varchar(128) NOT NULL DEFAULT '',
	`description` varchar(64) NOT NULL DEFAULT '',
	CONSTRAINT `dispatcher_id` PRIMARY KEY(`id`)
);
--> statement-breakpoint
CREATE TABLE IF NOT EXISTS `domain_name` (
	`id` int unsigned AUTO_INCREMENT NOT NULL,
	`domain` varchar(64),
	CONSTRAINT `domain_name_id` PRIMARY KEY(`id`)
);
--> statement-breakpoint
CREATE TABLE IF NOT EXISTS `dr_gateways` (
	`gwid` int unsigned AUTO_INCREMENT NOT NULL,
	`type` int unsigned NOT NULL DEFAULT 0,
	`address` varchar(128) NOT NULL,
	`strip` int unsigned NOT NULL DEFAULT 0,
	`pri_prefix` varchar(64),
	`attrs` varchar(255),
	`description` varchar(128) NOT NULL DEFAULT '',
	CONSTRAINT `dr_gateways_gwid` PRIMARY KEY(`gwid`)
);
--> statement-breakpoint
CREATE TABLE IF NOT EXISTS `dr_groups` (
	`id` int unsigned AUTO_INCREMENT NOT NULL,
	`username` varchar(64) NOT NULL,
	`domain` varchar(128) NOT NULL DEFAULT '',
	`groupid` int unsigned NOT NULL DEFAULT 0,
	`description` varchar(128) NOT NULL DEFAULT '',
	CONSTRAINT `dr_groups_id` PRIMARY KEY(`id`)
);
--> statement-breakpoint
CREATE TABLE IF NOT EXISTS `dr_gw_lists` (
	`id` int unsigned AUTO_INCREMENT NOT NULL,
	`gwlist` varchar(255) NOT NULL,
	`description` varchar(128) NOT NULL DEFAULT '',
	CONSTRAINT `dr_gw_lists_id` PRIMARY KEY(`id`)
);
--> statement-breakpoint
CREATE TABLE IF NOT EXISTS `dr_rules` (
	`ruleid` int unsigned AUTO_INCREMENT NOT NULL,
	`groupid` varchar(255) NOT NULL,
	`prefix` varchar(64) NOT NULL,
	`timerec` varchar(255) NOT NULL,
	`priority` int NOT NULL DEFAULT 0,
	`routeid` varchar(64) NOT NULL,
	`gwlist` varchar(255) NOT NULL,
	`description` varchar(128) NOT NULL DEFAULT '',
	CONSTRAINT `dr_rules_ruleid` PRIMARY KEY(`ruleid`)
);
--> statement-breakpoint
CREATE TABLE IF NOT EXISTS `lcr_gw` (
	`id` int unsigned AUTO_INCREMENT NOT NULL,
	`lcr_id` smallint unsigned NOT NULL,
	`gw_name` varchar(128),
	`ip_addr` varchar(50),
	`hostname` varchar(64),
	`port` smallint unsigned,
	`params` varchar(64),
	`uri_scheme` tinyint unsigned,
	`transport` tinyint unsigned,
	`strip` tinyint unsigned,
	`prefix` varchar(16),
	`tag` varchar(64),
	`flags` int unsigned NOT NULL DEFAULT 0,
	`defunct` int unsigned,
	CONSTRAINT `lcr_gw_id` PRIMARY KEY(`id`),
	INDEX `lcr_id_idx` (`lcr_id`)
);
--> statement-breakpoint
CREATE TABLE IF NOT EXISTS `lcr_rule` (
	`id` int unsigned AUTO_INCREMENT NOT NULL,
	`lcr_id` smallint unsigned NOT NULL,
	`prefix` varchar(16),
	`from_uri` varchar(64),
	`request_uri` varchar(64),
	`mt_tvalue` varchar(128),
	`stopper` int unsigned NOT NULL DEFAULT 0,
	`enabled` int unsigned NOT NULL DEFAULT 1,
	CONSTRAINT `lcr_rule_id` PRIMARY KEY(`id`),
	CONSTRAINT `lcr_id_prefix_from_uri_idx` UNIQUE(`lcr_id`,`prefix`,`from_uri`)
);
--> statement-breakpoint
CREATE TABLE IF NOT EXISTS `lcr_rule_target` (
	`id` int unsigned AUTO_INCREMENT NOT NULL,
	`lcr_id` smallint unsigned NOT NULL,
	`rule_id` int unsigned NOT NULL,
	`gw_id` int unsigned NOT NULL,
	`priority` tinyint unsigned NOT NULL,
	`weight` int unsigned NOT NULL DEFAULT 1,
	CONSTRAINT `lcr_rule_target_id` PRIMARY KEY(`id`),
	CONSTRAINT `rule_id_gw_id_idx` UNIQUE(`rule_id`,`gw_id`),
	INDEX `lcr_id_idx` (`lcr_id`)
);
--> statement-breakpoint
CREATE TABLE IF NOT EXISTS `mtree` (
	`id` int unsigned AUTO_INCREMENT NOT NULL,
	`tprefix` varchar(32) NOT NULL DEFAULT '',
	`tvalue` varchar(128) NOT NULL DEFAULT '',
	CONSTRAINT `mtree_id` PRIMARY KEY(`id`),
	CONSTRAINT `tprefix_idx` UNIQUE(`tprefix`)
);
--> statement-breakpoint
CREATE TABLE IF NOT EXISTS `mtrees` (
	`id` int unsigned AUTO_INCREMENT NOT NULL,
	`tname` varchar(128) NOT NULL DEFAULT '',
	`tprefix` varchar(32) NOT NULL DEFAULT '',
	`tvalue` varchar(128) NOT NULL DEFAULT '',
	CONSTRAINT `mtrees_id` PRIMARY KEY(`id`),
	CONSTRAINT `tname_tprefix_tvalue_idx` UNIQUE(`tname`,`tprefix`,`tvalue`)
);
--> statement-breakpoint
CREATE TABLE IF NOT EXISTS `prefix_route` (
	`prefix` varchar(64) NOT NULL DEFAULT '',
	`route` varchar(64) NOT NULL DEFAULT '',
	`comment` varchar(64) NOT NULL DEFAULT ''
);
--> statement-breakpoint
CREATE TABLE IF NOT EXISTS `version` (
	`id` int unsigned AUTO_INCREMENT NOT NULL,
	`table_name` varchar(32) NOT NULL,
	`table_version` int unsigned NOT NULL DEFAULT 0,
	CONSTRAINT `version_id` PRIMARY KEY(`id`),
	CONSTRAINT `table_name_idx` UNIQUE(`table_name`)
);
--> statement-breakpoint
CREATE TABLE IF NOT EXISTS `address` (
	`id` int unsigned AUTO_INCREMENT NOT NULL,
	`grp` int unsigned NOT NULL DEFAULT 1,
	`ip_addr` varchar(50) NOT NULL,
	`mask` int NOT NULL DEFAULT 32,
	`port` smallint unsigned NOT NULL DEFAULT 0,
	`tag` varchar(64),
	CONSTRAINT `address_id` PRIMARY KEY(`id`)
);
--> statement-breakpoint
CREATE TABLE IF NOT EXISTS `dbaliases` (
	`id` int unsigned AUTO_INCREMENT NOT NULL,
	`alias_username` varchar(64) NOT NULL DEFAULT '',
	`alias_domain` varchar(64) NOT NULL DEFAULT '',
	`username` varchar(64) NOT NULL DEFAULT '',
	`domain` varchar(64) NOT NULL DEFAULT '',
	CONSTRAINT `dbaliases_id` PRIMARY KEY(`id`),
	INDEX `alias_user_idx` (`alias_username`),
	INDEX `alias_idx` (`alias_username`,`alias_domain`),
	INDEX `target_idx` (`username`,`domain`)
);
--> statement-breakpoint
CREATE TABLE IF NOT EXISTS `htable` (
	`id` int unsigned AUTO_INCREMENT NOT NULL,
	`key_name` varchar(64) NOT NULL DEFAULT '',
	`key_type` int NOT NULL DEFAULT 0,
	`value_type` int NOT NULL DEFAULT 0,
	`key_value` varchar(128) NOT NULL DEFAULT '',
	`expires` int NOT NULL DEFAULT 0,
	CONSTRAINT `htable_id` PRIMARY KEY(`id`)
);
--> statement-breakpoint
CREATE TABLE IF NOT EXISTS `location` (
	`id` int unsigned AUTO_INCREMENT NOT NULL,
	`ruid` varchar(64) NOT NULL DEFAULT '',
	`username` varchar(64) NOT NULL DEFAULT '',
	`domain` varchar(64),
	`contact` varchar(512) NOT NULL DEFAULT '',
	`received` varchar(128),
	`path` varchar(512),
	`expires` datetime NOT NULL DEFAULT '2030-05-28 21:32:15',
	`q` float(10,2) NOT NULL DEFAULT 1,
	`callid` varchar(255) NOT NULL DEFAULT 'Default-Call-ID',
	`cseq` int NOT NULL DEFAULT 1,
	`last_modified` datetime NOT NULL DEFAULT '2000-01-01 00:00:01',
	`flags` int NOT NULL DEFAULT 0,
	`cflags` int NOT NULL DEFAULT 0,
	`user_agent` varchar(255) NOT NULL DEFAULT '',
	`socket` varchar(64),
	`methods` int,
	`instance` varchar(255),
	`reg_id` int NOT NULL DEFAULT 0,
	`server_id` int NOT NULL DEFAULT 0,
	`connection_id` int NOT NULL DEFAULT 0,
	`keepalive` int NOT NULL DEFAULT 0,
	`partition` int NOT NULL DEFAULT 0,
	CONSTRAINT `location_id` PRIMARY KEY(`id`),
	CONSTRAINT `ruid_idx` UNIQUE(`ruid`),
	INDEX `account_contact_idx` (`username`,`domain`,`contact`),
	INDEX `expires_idx` (`expires`),
	INDEX `tcpcon_idx` (`connection_id`),
	INDEX `connection_idx` (`server_id`,`connection_id`)
);
--> statement-breakpoint
CREATE TABLE IF NOT EXISTS `location_attrs` (
	`id` int unsigned AUTO_INCREMENT NOT NULL,
	`ruid` varchar(64) NOT NULL DEFAULT '',
	`username` varchar(64) NOT NULL DEFAULT '',
	`domain` varchar(64),
	`aname` varchar(64) NOT NULL DEFAULT '',
	`atype` int NOT NULL DEFAULT 0,
	`avalue` varchar(512) NOT NULL DEFAULT '',
	`last_modified` datetime NOT NULL DEFAULT '2000-01-01 00:00:01',
	CONSTRAINT `location_attrs_id` PRIMARY KEY(`id`),
	INDEX `account_record_idx` (`username`,`domain`,`ruid`),
	INDEX `last_modified_idx` (`last_modified`)
);
--> statement-breakpoint
CREATE TABLE IF NOT EXISTS `speed_dial` (
	`id` int unsigned AUTO_INCREMENT NOT NULL,
	`username` varchar(64) NOT NULL DEFAULT '',
	`domain` varchar(64) NOT NULL DEFAULT '',
	`sd_username` varchar(64) NOT NULL DEFAULT '',
	`sd_domain` varchar(64) NOT NULL DEFAULT '',
	`new_uri` varchar(255) NOT NULL DEFAULT '',
	`fname` varchar(64) NOT NULL DEFAULT '',
	`lname` varchar(64) NOT NULL DEFAULT '',
	`description` varchar(64) NOT NULL DEFAULT '',
	CONSTRAINT `speed_dial_id` PRIMARY KEY(`id`),
	CONSTRAINT `speed_dial_idx` UNIQUE(`username`,`domain`,`sd_domain`,`sd_username`)
);
--> statement-breakpoint
CREATE TABLE IF NOT EXISTS `subscriber` (
	`id` int unsigned AUTO_INCREMENT NOT NULL,
	`username` varchar(64) NOT NULL DEFAULT '',
	`domain` varchar(64) NOT NULL DEFAULT '',
	`password` varchar(64) NOT NULL DEFAULT '',
	`ha1` varchar(128) NOT NULL DEFAULT '',
	`ha1b` varchar(128) NOT NULL DEFAULT '',
	CONSTRAINT `subscriber_id` PRIMARY KEY(`id`),
	CONSTRAINT `account_idx` UNIQUE(`username`,`domain`),
	INDEX `username_idx` (`username`)
);
--> statement-breakpoint
CREATE TABLE IF NOT EXISTS `trusted` (
	`id` int unsigned AUTO_INCREMENT NOT NULL,
	`src_ip` varchar(50) NOT NULL,
	`proto` varchar(4) NOT NULL,
	`from_pattern` varchar(64),
	`ruri_pattern` varchar(64),
	`tag` varchar(64),
	`priority` int NOT NULL DEFAULT 0,
	CONSTRAINT `trusted_id` PRIMARY KEY(`id`),
	INDEX `peer_idx` (`src_ip`)
);
--> statement-breakpoint
CREATE TABLE IF NOT EXISTS `acc` (
	`id` int unsigned AUTO_INCREMENT NOT NULL,
	`method` varchar(16) NOT NULL DEFAULT '',
	`from_tag` varchar(128) NOT NULL DEFAULT '',
	`to_tag` varchar(128) NOT NULL DEFAULT '',
	`callid` varchar(255) NOT NULL DEFAULT '',
	`sip_code` varchar(3) NOT NULL DEFAULT '',
	`sip_reason` varchar(128) NOT NULL DEFAULT '',
	`time` datetime NOT NULL,
	CONSTRAINT `acc_id` PRIMARY KEY(`id`),
	INDEX `callid_idx` (`callid`)
);
--> statement-breakpoint
CREATE TABLE IF NOT EXISTS `acc_cdrs` (
	`id` int unsigned AUTO_INCREMENT NOT NULL,
	`start_time` datetime NOT NULL DEFAULT '2000-01-01 00:00:00',
	`end_time` datetime NOT NULL DEFAULT '2000-01-01 00:00:00',
	`duration` float(10,3) NOT NULL DEFAULT 0,
	CONSTRAINT `acc_cdrs_id` PRIMARY KEY(`id`),
	INDEX `start_time_idx` (`start_time`)
);
--> statement-breakpoint
CREATE TABLE IF NOT EXISTS `missed_calls` (
	`id` int unsigned AUTO_INCREMENT NOT NULL,
	`method` varchar(16) NOT NULL DEFAULT '',
	`from_tag` varchar(128) NOT NULL DEFAULT '',
	`to_tag` varchar(128) NOT NULL DEFAULT '',
	`callid` varchar(255) NOT NULL DEFAULT '',
	`sip_code` varchar(3) NOT NULL DEFAULT '',
	`sip_reason` varchar(128) NOT NULL DEFAULT '',
	`time` datetime NOT NULL,
	CONSTRAINT `missed_calls_id` PRIMARY KEY(`id`),
	INDEX `callid_idx` (`callid`)
);
--> statement-breakpoint
CREATE TABLE IF NOT EXISTS `olelo_audit` (
	`id` bigint unsigned AUTO_INCREMENT NOT NULL,
	`ts` datetime(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
	`actor` varchar(64) NOT NULL,
	`action` varchar(32) NOT NULL,
	`kind` varchar(32),
	`table_name` varchar(64) NOT NULL,
	`row_id` varchar(255),
	`before` json,
	`after` json,
	`version` varchar(64),
	CONSTRAINT `olelo_audit_id` PRIMARY KEY(`id`),
	INDEX `olelo_audit_ts_idx` (`ts`),
	INDEX `olelo_audit_row_idx` (`table_name`,`row_id`)
);
--> statement-breakpoint
CREATE TABLE IF NOT EXISTS `olelo_snapshots` (
	`id` bigint unsigned AUTO_INCREMENT NOT NULL,
	`kind` varchar(32) NOT NULL,
	`version` varchar(64) NOT NULL,
	`row_count` int unsigned NOT NULL DEFAULT 0,
	`fingerprint` varchar(255) NOT NULL DEFAULT '',
	`reason` varchar(255) NOT NULL DEFAULT '',
	`created_at` datetime(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
	`data` longblob,
	CONSTRAINT `olelo_snapshots_id` PRIMARY KEY(`id`),
	INDEX `olelo_snapshots_kind_idx` (`kind`,`id`)
);
