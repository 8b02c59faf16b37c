CREATE TABLE `event_types` (
	`project_id` text NOT NULL,
	`name` text NOT NULL,
	`description` text NOT NULL,
	`archived` integer DEFAULT false NOT NULL,
	`deprecated` integer DEFAULT false NOT NULL,
	`schemas` text,
	`feature_flags` text,
	`group_name` text,
	`created_at` integer NOT NULL,
	`updated_at` integer NOT NULL,
	PRIMARY KEY(`project_id`, `name`),
	FOREIGN KEY (`project_id`) REFERENCES `projects`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE TABLE `idempotent_responses` (
	`project_id` text NOT NULL,
	`key` text NOT NULL,
	`request` text NOT NULL,
	`response` text,
	`created_at` integer NOT NULL,
	PRIMARY KEY(`project_id`, `key`),
	FOREIGN KEY (`project_id`) REFERENCES `projects`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE INDEX `idempotent_responses_created_at_idx` ON `idempotent_responses` (`created_at`);--> statement-breakpoint
ALTER TABLE `endpoints` ADD `uid` text;--> statement-breakpoint
ALTER TABLE `endpoints` ADD `metadata` text DEFAULT '{}' NOT NULL;--> statement-breakpoint
CREATE UNIQUE INDEX `endpoints_project_id_application_id_uid_unique_idx` ON `endpoints` (`project_id`,`application_id`,`uid`) WHERE "endpoints"."uid" is not null and "endpoints"."deleted_at" is null;--> statement-breakpoint
ALTER TABLE `events` ADD `body_format` text DEFAULT 'envelope' NOT NULL;