CREATE INDEX `alerts_project_id_endpoint_id_id_idx` ON `alerts` (`project_id`,`endpoint_id`,`id`);--> statement-breakpoint
CREATE INDEX `attempts_project_id_id_idx` ON `attempts` (`project_id`,`id`);--> statement-breakpoint
CREATE INDEX `attempts_project_id_started_at_idx` ON `attempts` (`project_id`,`started_at`);--> statement-breakpoint
CREATE INDEX `deliveries_project_id_event_type_id_idx` ON `deliveries` (`project_id`,`event_type`,`id`);--> statement-breakpoint
CREATE INDEX `deliveries_project_id_event_id_id_status_idx` ON `deliveries` (`project_id`,`event_id`,`id`,`status`);--> statement-breakpoint
CREATE INDEX `deliveries_project_id_status_event_id_idx` ON `deliveries` (`project_id`,`status`,`event_id`);--> statement-breakpoint
CREATE INDEX `deliveries_project_id_endpoint_id_event_id_idx` ON `deliveries` (`project_id`,`endpoint_id`,`event_id`);--> statement-breakpoint
CREATE INDEX `events_project_id_application_id_event_type_idx` ON `events` (`project_id`,`application_id`,`event_type`);