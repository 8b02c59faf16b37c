DROP INDEX `attempts_project_id_started_at_idx`;--> statement-breakpoint
DROP INDEX `deliveries_project_id_event_id_id_status_idx`;--> statement-breakpoint
DROP INDEX `deliveries_event_id_idx`;--> statement-breakpoint
DROP INDEX `deliveries_project_id_application_id_id_idx`;--> statement-breakpoint
CREATE INDEX `deliveries_event_id_project_id_id_status_idx` ON `deliveries` (`event_id`,`project_id`,`id`,`status`);--> statement-breakpoint
CREATE INDEX `deliveries_project_id_application_id_id_idx` ON `deliveries` (`project_id`,`application_id`,`id`) WHERE "deliveries"."application_id" is not null;--> statement-breakpoint
DROP INDEX `events_project_id_application_id_id_idx`;--> statement-breakpoint
DROP INDEX `events_project_id_application_id_event_type_idx`;--> statement-breakpoint
CREATE INDEX `events_project_id_application_id_id_idx` ON `events` (`project_id`,`application_id`,`id`) WHERE "events"."application_id" is not null;--> statement-breakpoint
CREATE INDEX `events_project_id_application_id_event_type_idx` ON `events` (`project_id`,`application_id`,`event_type`) WHERE "events"."application_id" is not null;