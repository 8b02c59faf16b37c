DROP INDEX `deliveries_project_id_event_id_id_status_idx`;--> statement-breakpoint
DROP INDEX `deliveries_event_id_idx`;--> statement-breakpoint
CREATE INDEX `deliveries_event_id_project_id_id_status_idx` ON `deliveries` (`event_id`,`project_id`,`id`,`status`);