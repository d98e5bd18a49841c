CREATE TABLE IF NOT EXISTS `olelo_changes` (
	`id` bigint unsigned AUTO_INCREMENT NOT NULL,
	`tbl` varchar(64) NOT NULL,
	`op` varchar(1) NOT NULL,
	`pk` varchar(255),
	`at` datetime(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
	CONSTRAINT `olelo_changes_id` PRIMARY KEY(`id`),
	INDEX `olelo_changes_at_idx` (`at`)
);
