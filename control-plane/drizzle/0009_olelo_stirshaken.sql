CREATE TABLE IF NOT EXISTS `olelo_stir_attest` (
	`id` int unsigned AUTO_INCREMENT NOT NULL,
	`match_type` varchar(16) NOT NULL,
	`match_value` varchar(128) NOT NULL,
	`attest` varchar(1) NOT NULL,
	`origid` varchar(64) NOT NULL DEFAULT '',
	`credential` varchar(64) NOT NULL DEFAULT '',
	`description` varchar(64) NOT NULL DEFAULT '',
	CONSTRAINT `olelo_stir_attest_id` PRIMARY KEY(`id`),
	CONSTRAINT `stir_attest_idx` UNIQUE(`match_type`,`match_value`)
);
