CREATE TABLE `jobs` (
	`id` text PRIMARY KEY NOT NULL,
	`project_id` text NOT NULL,
	`kind` text NOT NULL,
	`params` text NOT NULL,
	`status` text NOT NULL,
	`cursor` text,
	`processed` integer DEFAULT 0 NOT NULL,
	`steps` integer DEFAULT 0 NOT NULL,
	`lease_until` integer,
	`finished_at` integer,
	`created_at` integer NOT NULL,
	`updated_at` integer NOT NULL,
	FOREIGN KEY (`project_id`) REFERENCES `projects`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE INDEX `jobs_status_updated_at_idx` ON `jobs` (`status`,`updated_at`);--> statement-breakpoint
DROP INDEX `attempts_delivery_id_attempt_idx`;--> statement-breakpoint
-- Two senders could once both record an attempt number; keep the first so the unique index can be built.
DELETE FROM `attempts` WHERE rowid NOT IN (SELECT min(rowid) FROM `attempts` GROUP BY `delivery_id`, `attempt`);--> statement-breakpoint
CREATE UNIQUE INDEX `attempts_delivery_id_attempt_unique_idx` ON `attempts` (`delivery_id`,`attempt`);--> statement-breakpoint
ALTER TABLE `deliveries` ADD `held_at` integer;--> statement-breakpoint
CREATE INDEX `deliveries_endpoint_id_held_at_idx` ON `deliveries` (`endpoint_id`,`held_at`) WHERE "deliveries"."held_at" is not null;--> statement-breakpoint
CREATE INDEX `endpoints_status_id_idx` ON `endpoints` (`status`,`id`);