CREATE TABLE IF NOT EXISTS `olelo_fleet_state` (
	`name` varchar(80) NOT NULL,
	`value` json NOT NULL,
	`updated_at` datetime(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
	CONSTRAINT `olelo_fleet_state_name` PRIMARY KEY(`name`)
);
