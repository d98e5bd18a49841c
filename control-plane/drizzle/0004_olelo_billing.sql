CREATE TABLE IF NOT EXISTS `dialog` (
	`id` int unsigned AUTO_INCREMENT NOT NULL,
	`hash_entry` int unsigned NOT NULL,
	`hash_id` int unsigned NOT NULL,
	`callid` varchar(255) NOT NULL,
	`from_uri` varchar(255) NOT NULL,
	`from_tag` varchar(128) NOT NULL,
	`to_uri` varchar(255) NOT NULL,
	`to_tag` varchar(128) NOT NULL,
	`caller_cseq` varchar(20) NOT NULL,
	`callee_cseq` varchar(20) NOT NULL,
	`caller_route_set` varchar(512),
	`callee_route_set` varchar(512),
	`caller_contact` varchar(255) NOT NULL,
	`callee_contact` varchar(255) NOT NULL,
	`caller_sock` varchar(64) NOT NULL,
	`callee_sock` varchar(64) NOT NULL,
	`state` int unsigned NOT NULL,
	`start_time` int unsigned NOT NULL,
	`timeout` int unsigned NOT NULL DEFAULT 0,
	`sflags` int unsigned NOT NULL DEFAULT 0,
	`iflags` int unsigned NOT NULL DEFAULT 0,
	`toroute_name` varchar(32),
	`req_uri` varchar(255) NOT NULL,
	`xdata` varchar(512),
	CONSTRAINT `dialog_id` PRIMARY KEY(`id`),
	INDEX `hash_idx` (`hash_entry`,`hash_id`)
);
--> statement-breakpoint
CREATE TABLE IF NOT EXISTS `dialog_vars` (
	`id` int unsigned AUTO_INCREMENT NOT NULL,
	`hash_entry` int unsigned NOT NULL,
	`hash_id` int unsigned NOT NULL,
	`dialog_key` varchar(128) NOT NULL,
	`dialog_value` varchar(512) NOT NULL,
	CONSTRAINT `dialog_vars_id` PRIMARY KEY(`id`),
	INDEX `hash_idx` (`hash_entry`,`hash_id`)
);
--> statement-breakpoint
CREATE TABLE IF NOT EXISTS `olelo_cdr_dead` (
	`id` bigint unsigned AUTO_INCREMENT NOT NULL,
	`url` varchar(255) NOT NULL,
	`seq` bigint unsigned NOT NULL,
	`cdr_id` varchar(64) NOT NULL,
	`attempts` int unsigned NOT NULL,
	`last_error` varchar(255) NOT NULL DEFAULT '',
	`failed_ms` bigint NOT NULL,
	CONSTRAINT `olelo_cdr_dead_id` PRIMARY KEY(`id`),
	INDEX `olelo_cdr_dead_url_idx` (`url`,`seq`)
);
--> statement-breakpoint
CREATE TABLE IF NOT EXISTS `olelo_cdr_webhook` (
	`id` int unsigned AUTO_INCREMENT NOT NULL,
	`url` varchar(255) NOT NULL,
	`last_seq` bigint unsigned NOT NULL DEFAULT 0,
	CONSTRAINT `olelo_cdr_webhook_id` PRIMARY KEY(`id`),
	CONSTRAINT `olelo_cdr_webhook_url_idx` UNIQUE(`url`)
);
--> statement-breakpoint
CREATE TABLE IF NOT EXISTS `olelo_cdrs` (
	`seq` bigint unsigned AUTO_INCREMENT NOT NULL,
	`cdr_id` varchar(64) NOT NULL,
	`call_id` varchar(255) NOT NULL,
	`from_tag` varchar(128) NOT NULL DEFAULT '',
	`to_tag` varchar(128) NOT NULL DEFAULT '',
	`from_uri` varchar(255) NOT NULL DEFAULT '',
	`from_user` varchar(128) NOT NULL DEFAULT '',
	`to_uri` varchar(255) NOT NULL DEFAULT '',
	`to_user` varchar(128) NOT NULL DEFAULT '',
	`ruri` varchar(255) NOT NULL DEFAULT '',
	`caller` varchar(128) NOT NULL DEFAULT '',
	`callee` varchar(128) NOT NULL DEFAULT '',
	`src_ip` varchar(64) NOT NULL DEFAULT '',
	`src_port` int unsigned NOT NULL DEFAULT 0,
	`proto` varchar(8) NOT NULL DEFAULT '',
	`node` varchar(64) NOT NULL DEFAULT '',
	`gateway` varchar(255),
	`gateway_addr` varchar(128),
	`account` varchar(128) NOT NULL DEFAULT '',
	`start_ms` bigint NOT NULL,
	`answer_ms` bigint,
	`end_ms` bigint NOT NULL,
	`duration_ms` bigint NOT NULL DEFAULT 0,
	`billsec` int unsigned NOT NULL DEFAULT 0,
	`sip_code` smallint unsigned NOT NULL DEFAULT 0,
	`sip_reason` varchar(128) NOT NULL DEFAULT '',
	`ended_by` varchar(16) NOT NULL DEFAULT '',
	`end_reason` varchar(32) NOT NULL DEFAULT '',
	`disposition` varchar(16) NOT NULL DEFAULT '',
	`vars` text,
	`received_ms` bigint NOT NULL,
	CONSTRAINT `olelo_cdrs_seq` PRIMARY KEY(`seq`),
	CONSTRAINT `olelo_cdrs_cdr_id_idx` UNIQUE(`cdr_id`),
	INDEX `olelo_cdrs_start_idx` (`start_ms`),
	INDEX `olelo_cdrs_account_idx` (`account`,`start_ms`),
	INDEX `olelo_cdrs_call_id_idx` (`call_id`)
);
--> statement-breakpoint
-- Kamailio's version rows for the dialog tables (dialog-create.sql); INSERT IGNORE keeps existing ones.
INSERT IGNORE INTO `version` (`table_name`, `table_version`) VALUES
	('dialog', 7),
	('dialog_vars', 1);
