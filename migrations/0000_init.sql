CREATE TABLE `alerts` (
	`id` text PRIMARY KEY NOT NULL,
	`project_id` text NOT NULL,
	`endpoint_id` text NOT NULL,
	`kind` text NOT NULL,
	`dedupe_key` text NOT NULL,
	`recipients` text NOT NULL,
	`subject` text NOT NULL,
	`text` text NOT NULL,
	`html` text NOT NULL,
	`status` text NOT NULL,
	`attempts` integer DEFAULT 0 NOT NULL,
	`next_attempt_at` integer,
	`lease_until` integer,
	`last_error` text,
	`sent_at` integer,
	`created_at` integer NOT NULL,
	FOREIGN KEY (`project_id`) REFERENCES `projects`(`id`) ON UPDATE no action ON DELETE cascade,
	FOREIGN KEY (`endpoint_id`) REFERENCES `endpoints`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE UNIQUE INDEX `alerts_dedupe_key_unique_idx` ON `alerts` (`dedupe_key`);--> statement-breakpoint
CREATE INDEX `alerts_project_id_id_idx` ON `alerts` (`project_id`,`id`);--> statement-breakpoint
CREATE INDEX `alerts_status_next_attempt_at_idx` ON `alerts` (`status`,`next_attempt_at`);--> statement-breakpoint
CREATE TABLE `api_keys` (
	`id` text PRIMARY KEY NOT NULL,
	`project_id` text NOT NULL,
	`name` text NOT NULL,
	`prefix` text NOT NULL,
	`hashed_key` text NOT NULL,
	`last_used_at` integer,
	`revoked_at` integer,
	`created_at` integer NOT NULL,
	FOREIGN KEY (`project_id`) REFERENCES `projects`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE UNIQUE INDEX `api_keys_hashed_key_unique_idx` ON `api_keys` (`hashed_key`);--> statement-breakpoint
CREATE INDEX `api_keys_project_id_idx` ON `api_keys` (`project_id`);--> statement-breakpoint
CREATE TABLE `attempts` (
	`id` text PRIMARY KEY NOT NULL,
	`project_id` text NOT NULL,
	`delivery_id` text NOT NULL,
	`attempt` integer NOT NULL,
	`trigger` text NOT NULL,
	`started_at` integer NOT NULL,
	`duration_ms` integer NOT NULL,
	`request` text NOT NULL,
	`response` text,
	`error` text,
	FOREIGN KEY (`project_id`) REFERENCES `projects`(`id`) ON UPDATE no action ON DELETE cascade,
	FOREIGN KEY (`delivery_id`) REFERENCES `deliveries`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE INDEX `attempts_delivery_id_attempt_idx` ON `attempts` (`delivery_id`,`attempt`);--> statement-breakpoint
CREATE TABLE `deliveries` (
	`id` text PRIMARY KEY NOT NULL,
	`project_id` text NOT NULL,
	`event_id` text NOT NULL,
	`endpoint_id` text NOT NULL,
	`event_type` text NOT NULL,
	`status` text NOT NULL,
	`attempt_count` integer DEFAULT 0 NOT NULL,
	`schedule_step` integer DEFAULT 0 NOT NULL,
	`next_attempt_at` integer,
	`lease_until` integer,
	`enqueued_at` integer,
	`last_status_code` integer,
	`last_error` text,
	`last_attempt_at` integer,
	`created_at` integer NOT NULL,
	`updated_at` integer NOT NULL,
	FOREIGN KEY (`project_id`) REFERENCES `projects`(`id`) ON UPDATE no action ON DELETE cascade,
	FOREIGN KEY (`event_id`) REFERENCES `events`(`id`) ON UPDATE no action ON DELETE cascade,
	FOREIGN KEY (`endpoint_id`) REFERENCES `endpoints`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE INDEX `deliveries_project_id_id_idx` ON `deliveries` (`project_id`,`id`);--> statement-breakpoint
CREATE INDEX `deliveries_project_id_status_id_idx` ON `deliveries` (`project_id`,`status`,`id`);--> statement-breakpoint
CREATE INDEX `deliveries_project_id_endpoint_id_id_idx` ON `deliveries` (`project_id`,`endpoint_id`,`id`);--> statement-breakpoint
CREATE INDEX `deliveries_event_id_idx` ON `deliveries` (`event_id`);--> statement-breakpoint
CREATE INDEX `deliveries_status_next_attempt_at_idx` ON `deliveries` (`status`,`next_attempt_at`);--> statement-breakpoint
CREATE INDEX `deliveries_endpoint_id_status_idx` ON `deliveries` (`endpoint_id`,`status`);--> statement-breakpoint
CREATE TABLE `endpoints` (
	`id` text PRIMARY KEY NOT NULL,
	`project_id` text NOT NULL,
	`url` text NOT NULL,
	`role` text DEFAULT 'webhook' NOT NULL,
	`description` text DEFAULT '' NOT NULL,
	`event_types` text NOT NULL,
	`headers` text NOT NULL,
	`timeout_ms` integer NOT NULL,
	`rate_limit_per_second` integer,
	`secrets` text NOT NULL,
	`status` text NOT NULL,
	`disabled_reason` text,
	`disabled_at` integer,
	`deleted_at` integer,
	`created_at` integer NOT NULL,
	`updated_at` integer NOT NULL,
	FOREIGN KEY (`project_id`) REFERENCES `projects`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE INDEX `endpoints_project_id_idx` ON `endpoints` (`project_id`,`id`);--> statement-breakpoint
CREATE TABLE `events` (
	`id` text PRIMARY KEY NOT NULL,
	`project_id` text NOT NULL,
	`event_type` text NOT NULL,
	`body` text NOT NULL,
	`idempotency_key` text,
	`created_at` integer NOT NULL,
	FOREIGN KEY (`project_id`) REFERENCES `projects`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE INDEX `events_project_id_id_idx` ON `events` (`project_id`,`id`);--> statement-breakpoint
CREATE INDEX `events_project_id_event_type_id_idx` ON `events` (`project_id`,`event_type`,`id`);--> statement-breakpoint
CREATE UNIQUE INDEX `events_project_id_idempotency_key_unique_idx` ON `events` (`project_id`,`idempotency_key`) WHERE "events"."idempotency_key" is not null;--> statement-breakpoint
CREATE TABLE `projects` (
	`id` text PRIMARY KEY NOT NULL,
	`name` text NOT NULL,
	`alert_emails` text NOT NULL,
	`retry_schedule` text,
	`circuit_open_after` integer NOT NULL,
	`disable_after` integer NOT NULL,
	`disable_after_seconds` integer NOT NULL,
	`meta_endpoint_id` text,
	`created_at` integer NOT NULL,
	`updated_at` integer NOT NULL
);
