DROP INDEX `attempts_delivery_id_attempt_idx`;--> statement-breakpoint
-- Two senders could once both record an attempt number; keep the first so the unique index can be built.
DELETE FROM `attempts` WHERE rowid NOT IN (SELECT min(rowid) FROM `attempts` GROUP BY `delivery_id`, `attempt`);--> statement-breakpoint
CREATE UNIQUE INDEX `attempts_delivery_id_attempt_unique_idx` ON `attempts` (`delivery_id`,`attempt`);--> statement-breakpoint
ALTER TABLE `deliveries` ADD `held_at` integer;--> statement-breakpoint
CREATE INDEX `deliveries_endpoint_id_held_at_idx` ON `deliveries` (`endpoint_id`,`held_at`) WHERE "deliveries"."held_at" is not null;