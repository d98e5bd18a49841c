-- Accounting tables for the acc module (MySQL / MariaDB).
-- The first three tables have Kamailio's columns and types (acc v5, missed_calls v4,
-- acc_cdrs v3), so existing billing queries keep working. Olelo does not read the
-- `version` table.
--
-- Extra columns: every name in db_extra (acc, missed_calls) and cdr_extra (acc_cdrs) must
-- exist. The ALTER statements at the end add the ones the README's example configuration
-- uses (Kamailio's default kamailio.cfg db_extra, plus call identifiers and the gateway on
-- CDRs); drop or extend them to match your configuration.

CREATE TABLE IF NOT EXISTS `acc` (
    `id` INT(10) UNSIGNED AUTO_INCREMENT PRIMARY KEY NOT NULL,
    `method` VARCHAR(16) DEFAULT '' NOT NULL,
    `from_tag` VARCHAR(128) DEFAULT '' NOT NULL,
    `to_tag` VARCHAR(128) DEFAULT '' NOT NULL,
    `callid` VARCHAR(255) DEFAULT '' NOT NULL,
    `sip_code` VARCHAR(3) DEFAULT '' NOT NULL,
    `sip_reason` VARCHAR(128) DEFAULT '' NOT NULL,
    `time` DATETIME NOT NULL,
    INDEX callid_idx (`callid`)
);

CREATE TABLE IF NOT EXISTS `missed_calls` (
    `id` INT(10) UNSIGNED AUTO_INCREMENT PRIMARY KEY NOT NULL,
    `method` VARCHAR(16) DEFAULT '' NOT NULL,
    `from_tag` VARCHAR(128) DEFAULT '' NOT NULL,
    `to_tag` VARCHAR(128) DEFAULT '' NOT NULL,
    `callid` VARCHAR(255) DEFAULT '' NOT NULL,
    `sip_code` VARCHAR(3) DEFAULT '' NOT NULL,
    `sip_reason` VARCHAR(128) DEFAULT '' NOT NULL,
    `time` DATETIME NOT NULL,
    INDEX callid_idx (`callid`)
);

CREATE TABLE IF NOT EXISTS `acc_cdrs` (
    `id` INT(10) UNSIGNED AUTO_INCREMENT PRIMARY KEY NOT NULL,
    `start_time` DATETIME DEFAULT '2000-01-01 00:00:00' NOT NULL,
    `end_time` DATETIME DEFAULT '2000-01-01 00:00:00' NOT NULL,
    `duration` FLOAT(13,6) DEFAULT 0 NOT NULL,
    INDEX start_time_idx (`start_time`)
);

-- db_extra = "src_user=$fU;src_domain=$fd;src_ip=$si;dst_ouser=$tU;dst_user=$rU;dst_domain=$rd"
ALTER TABLE `acc`
    ADD COLUMN IF NOT EXISTS `src_user` VARCHAR(64) DEFAULT '' NOT NULL,
    ADD COLUMN IF NOT EXISTS `src_domain` VARCHAR(128) DEFAULT '' NOT NULL,
    ADD COLUMN IF NOT EXISTS `src_ip` VARCHAR(64) DEFAULT '' NOT NULL,
    ADD COLUMN IF NOT EXISTS `dst_ouser` VARCHAR(64) DEFAULT '' NOT NULL,
    ADD COLUMN IF NOT EXISTS `dst_user` VARCHAR(64) DEFAULT '' NOT NULL,
    ADD COLUMN IF NOT EXISTS `dst_domain` VARCHAR(128) DEFAULT '' NOT NULL;
ALTER TABLE `missed_calls`
    ADD COLUMN IF NOT EXISTS `src_user` VARCHAR(64) DEFAULT '' NOT NULL,
    ADD COLUMN IF NOT EXISTS `src_domain` VARCHAR(128) DEFAULT '' NOT NULL,
    ADD COLUMN IF NOT EXISTS `src_ip` VARCHAR(64) DEFAULT '' NOT NULL,
    ADD COLUMN IF NOT EXISTS `dst_ouser` VARCHAR(64) DEFAULT '' NOT NULL,
    ADD COLUMN IF NOT EXISTS `dst_user` VARCHAR(64) DEFAULT '' NOT NULL,
    ADD COLUMN IF NOT EXISTS `dst_domain` VARCHAR(128) DEFAULT '' NOT NULL;

-- cdr_extra = "callid=$ci;from_tag=$ft;to_tag=$tt;src_user=$fU;dst_user=$rU;gateway=$dlg(gateway);sip_code=$dlg(code)"
ALTER TABLE `acc_cdrs`
    ADD COLUMN IF NOT EXISTS `callid` VARCHAR(255) DEFAULT '' NOT NULL,
    ADD COLUMN IF NOT EXISTS `from_tag` VARCHAR(128) DEFAULT '' NOT NULL,
    ADD COLUMN IF NOT EXISTS `to_tag` VARCHAR(128) DEFAULT '' NOT NULL,
    ADD COLUMN IF NOT EXISTS `src_user` VARCHAR(64) DEFAULT '' NOT NULL,
    ADD COLUMN IF NOT EXISTS `dst_user` VARCHAR(64) DEFAULT '' NOT NULL,
    ADD COLUMN IF NOT EXISTS `gateway` VARCHAR(255) DEFAULT '' NOT NULL,
    ADD COLUMN IF NOT EXISTS `sip_code` VARCHAR(3) DEFAULT '' NOT NULL,
    ADD INDEX IF NOT EXISTS cdr_callid_idx (`callid`);
