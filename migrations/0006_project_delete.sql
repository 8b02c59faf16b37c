ALTER TABLE `projects` ADD `deleted_at` integer;--> statement-breakpoint
CREATE INDEX `jobs_project_id_id_idx` ON `jobs` (`project_id`,`id`);