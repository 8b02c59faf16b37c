DROP INDEX `attempts_delivery_id_attempt_idx`;--> statement-breakpoint
CREATE UNIQUE INDEX `attempts_delivery_id_attempt_unique_idx` ON `attempts` (`delivery_id`,`attempt`);