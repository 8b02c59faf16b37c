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
CREATE INDEX `attempts_project_id_id_idx` ON `attempts` (`project_id`,`id`);--> statement-breakpoint
CREATE INDEX `attempts_project_id_started_at_idx` ON `attempts` (`project_id`,`started_at`);--> statement-breakpoint
ALTER TABLE `deliveries` ADD `held_at` integer;--> statement-breakpoint
CREATE INDEX `deliveries_project_id_event_type_id_idx` ON `deliveries` (`project_id`,`event_type`,`id`);--> statement-breakpoint
CREATE INDEX `deliveries_project_id_event_id_id_status_idx` ON `deliveries` (`project_id`,`event_id`,`id`,`status`);--> statement-breakpoint
CREATE INDEX `deliveries_project_id_status_event_id_idx` ON `deliveries` (`project_id`,`status`,`event_id`);--> statement-breakpoint
CREATE INDEX `deliveries_project_id_endpoint_id_event_id_idx` ON `deliveries` (`project_id`,`endpoint_id`,`event_id`);--> statement-breakpoint
CREATE INDEX `deliveries_endpoint_id_held_at_idx` ON `deliveries` (`endpoint_id`,`held_at`) WHERE "deliveries"."held_at" is not null;--> statement-breakpoint
CREATE INDEX `alerts_project_id_endpoint_id_id_idx` ON `alerts` (`project_id`,`endpoint_id`,`id`);--> statement-breakpoint
CREATE INDEX `endpoints_status_id_idx` ON `endpoints` (`status`,`id`);--> statement-breakpoint
CREATE INDEX `events_project_id_application_id_event_type_idx` ON `events` (`project_id`,`application_id`,`event_type`);