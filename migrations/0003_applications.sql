CREATE TABLE `applications` (
	`id` text PRIMARY KEY NOT NULL,
	`project_id` text NOT NULL,
	`uid` text,
	`name` text NOT NULL,
	`metadata` text NOT NULL,
	`rate_limit_per_second` integer,
	`portal_key` text NOT NULL,
	`deleted_at` integer,
	`created_at` integer NOT NULL,
	`updated_at` integer NOT NULL,
	FOREIGN KEY (`project_id`) REFERENCES `projects`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE INDEX `applications_project_id_id_idx` ON `applications` (`project_id`,`id`);--> statement-breakpoint
CREATE UNIQUE INDEX `applications_project_id_uid_unique_idx` ON `applications` (`project_id`,`uid`) WHERE "applications"."uid" is not null and "applications"."deleted_at" is null;--> statement-breakpoint
ALTER TABLE `deliveries` ADD `application_id` text;--> statement-breakpoint
CREATE INDEX `deliveries_project_id_application_id_id_idx` ON `deliveries` (`project_id`,`application_id`,`id`);--> statement-breakpoint
ALTER TABLE `endpoints` ADD `application_id` text REFERENCES applications(id);--> statement-breakpoint
CREATE INDEX `endpoints_project_id_application_id_id_idx` ON `endpoints` (`project_id`,`application_id`,`id`);--> statement-breakpoint
ALTER TABLE `events` ADD `application_id` text;--> statement-breakpoint
CREATE INDEX `events_project_id_application_id_id_idx` ON `events` (`project_id`,`application_id`,`id`);--> statement-breakpoint
ALTER TABLE `projects` ADD `portal` text;