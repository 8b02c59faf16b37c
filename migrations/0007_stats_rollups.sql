CREATE TABLE `stats_rollups` (
	`project_id` text NOT NULL,
	`application_id` text NOT NULL,
	`span_minutes` integer NOT NULL,
	`start` integer NOT NULL,
	`events` integer DEFAULT 0 NOT NULL,
	`deliveries` integer DEFAULT 0 NOT NULL,
	`deliveries_failed` integer DEFAULT 0 NOT NULL,
	`attempts` integer DEFAULT 0 NOT NULL,
	`attempts_succeeded` integer DEFAULT 0 NOT NULL,
	`attempts_failed` integer DEFAULT 0 NOT NULL,
	`latency_ms_0` integer DEFAULT 0 NOT NULL,
	`latency_ms_1` integer DEFAULT 0 NOT NULL,
	`latency_ms_2` integer DEFAULT 0 NOT NULL,
	`latency_ms_3` integer DEFAULT 0 NOT NULL,
	`latency_ms_4` integer DEFAULT 0 NOT NULL,
	`latency_ms_5` integer DEFAULT 0 NOT NULL,
	`latency_ms_6` integer DEFAULT 0 NOT NULL,
	`latency_ms_7` integer DEFAULT 0 NOT NULL,
	`latency_ms_8` integer DEFAULT 0 NOT NULL,
	`latency_ms_10` integer DEFAULT 0 NOT NULL,
	`latency_ms_12` integer DEFAULT 0 NOT NULL,
	`latency_ms_14` integer DEFAULT 0 NOT NULL,
	`latency_ms_17` integer DEFAULT 0 NOT NULL,
	`latency_ms_20` integer DEFAULT 0 NOT NULL,
	`latency_ms_24` integer DEFAULT 0 NOT NULL,
	`latency_ms_29` integer DEFAULT 0 NOT NULL,
	`latency_ms_35` integer DEFAULT 0 NOT NULL,
	`latency_ms_42` integer DEFAULT 0 NOT NULL,
	`latency_ms_50` integer DEFAULT 0 NOT NULL,
	`latency_ms_60` integer DEFAULT 0 NOT NULL,
	`latency_ms_72` integer DEFAULT 0 NOT NULL,
	`latency_ms_86` integer DEFAULT 0 NOT NULL,
	`latency_ms_103` integer DEFAULT 0 NOT NULL,
	`latency_ms_124` integer DEFAULT 0 NOT NULL,
	`latency_ms_149` integer DEFAULT 0 NOT NULL,
	`latency_ms_179` integer DEFAULT 0 NOT NULL,
	`latency_ms_215` integer DEFAULT 0 NOT NULL,
	`latency_ms_258` integer DEFAULT 0 NOT NULL,
	`latency_ms_310` integer DEFAULT 0 NOT NULL,
	`latency_ms_372` integer DEFAULT 0 NOT NULL,
	`latency_ms_446` integer DEFAULT 0 NOT NULL,
	`latency_ms_535` integer DEFAULT 0 NOT NULL,
	`latency_ms_642` integer DEFAULT 0 NOT NULL,
	`latency_ms_770` integer DEFAULT 0 NOT NULL,
	`latency_ms_924` integer DEFAULT 0 NOT NULL,
	`latency_ms_1109` integer DEFAULT 0 NOT NULL,
	`latency_ms_1331` integer DEFAULT 0 NOT NULL,
	`latency_ms_1597` integer DEFAULT 0 NOT NULL,
	`latency_ms_1916` integer DEFAULT 0 NOT NULL,
	`latency_ms_2299` integer DEFAULT 0 NOT NULL,
	`latency_ms_2759` integer DEFAULT 0 NOT NULL,
	`latency_ms_3311` integer DEFAULT 0 NOT NULL,
	`latency_ms_3973` integer DEFAULT 0 NOT NULL,
	`latency_ms_4768` integer DEFAULT 0 NOT NULL,
	`latency_ms_5722` integer DEFAULT 0 NOT NULL,
	`latency_ms_6866` integer DEFAULT 0 NOT NULL,
	`latency_ms_8239` integer DEFAULT 0 NOT NULL,
	`latency_ms_9887` integer DEFAULT 0 NOT NULL,
	`latency_ms_11864` integer DEFAULT 0 NOT NULL,
	`latency_ms_14237` integer DEFAULT 0 NOT NULL,
	`latency_ms_17084` integer DEFAULT 0 NOT NULL,
	`latency_ms_20501` integer DEFAULT 0 NOT NULL,
	`latency_ms_24601` integer DEFAULT 0 NOT NULL,
	`latency_ms_29521` integer DEFAULT 0 NOT NULL,
	`latency_ms_35425` integer DEFAULT 0 NOT NULL,
	`latency_ms_42510` integer DEFAULT 0 NOT NULL,
	`latency_ms_51012` integer DEFAULT 0 NOT NULL,
	`latency_ms_61214` integer DEFAULT 0 NOT NULL,
	FOREIGN KEY (`project_id`) REFERENCES `projects`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE UNIQUE INDEX `stats_rollups_project_id_application_id_span_minutes_start_unique_idx` ON `stats_rollups` (`project_id`,`application_id`,`span_minutes`,`start`);--> statement-breakpoint
CREATE INDEX `stats_rollups_project_id_start_idx` ON `stats_rollups` (`project_id`,`start`);--> statement-breakpoint
-- Hand-written (not generated): the rollups of what is stored already. From here on each write adds its own (workers/db/stats-rollups.ts).
insert into stats_rollups (project_id, application_id, span_minutes, start, events, deliveries)
select f.project_id, iif(scope.per_application, f.application_id, ''), span.minutes, f.at - f.at % (span.minutes * 60000), sum(f.events), sum(f.deliveries)
from (select project_id as project_id, application_id as application_id, created_at as at, 1 as events, 0 as deliveries from events) f
join (select 1 as minutes union all select 60 as minutes) span
join (select 0 as per_application union all select 1) scope on scope.per_application = 0 or f.application_id is not null
where true
group by f.project_id, iif(scope.per_application, f.application_id, ''), span.minutes, f.at - f.at % (span.minutes * 60000)
on conflict (project_id, application_id, span_minutes, start) do update set
  events = events + excluded.events,
  deliveries = deliveries + excluded.deliveries;
--> statement-breakpoint
insert into stats_rollups (project_id, application_id, span_minutes, start, events, deliveries)
select f.project_id, iif(scope.per_application, f.application_id, ''), span.minutes, f.at - f.at % (span.minutes * 60000), sum(f.events), sum(f.deliveries)
from (select project_id as project_id, application_id as application_id, created_at as at, 0 as events, 1 as deliveries from deliveries) f
join (select 1 as minutes union all select 60 as minutes) span
join (select 0 as per_application union all select 1) scope on scope.per_application = 0 or f.application_id is not null
where true
group by f.project_id, iif(scope.per_application, f.application_id, ''), span.minutes, f.at - f.at % (span.minutes * 60000)
on conflict (project_id, application_id, span_minutes, start) do update set
  events = events + excluded.events,
  deliveries = deliveries + excluded.deliveries;
--> statement-breakpoint
insert into stats_rollups (project_id, application_id, span_minutes, start, attempts, attempts_succeeded, attempts_failed, deliveries_failed, latency_ms_0, latency_ms_1, latency_ms_2, latency_ms_3, latency_ms_4, latency_ms_5, latency_ms_6, latency_ms_7, latency_ms_8, latency_ms_10, latency_ms_12, latency_ms_14, latency_ms_17, latency_ms_20, latency_ms_24, latency_ms_29, latency_ms_35, latency_ms_42, latency_ms_50, latency_ms_60, latency_ms_72, latency_ms_86, latency_ms_103, latency_ms_124, latency_ms_149, latency_ms_179, latency_ms_215, latency_ms_258, latency_ms_310, latency_ms_372, latency_ms_446, latency_ms_535, latency_ms_642, latency_ms_770, latency_ms_924, latency_ms_1109, latency_ms_1331, latency_ms_1597, latency_ms_1916, latency_ms_2299, latency_ms_2759, latency_ms_3311, latency_ms_3973, latency_ms_4768, latency_ms_5722, latency_ms_6866, latency_ms_8239, latency_ms_9887, latency_ms_11864, latency_ms_14237, latency_ms_17084, latency_ms_20501, latency_ms_24601, latency_ms_29521, latency_ms_35425, latency_ms_42510, latency_ms_51012, latency_ms_61214)
select f.project_id, iif(scope.per_application, f.application_id, ''), span.minutes, f.at - f.at % (span.minutes * 60000), count(*), sum(f.succeeded), count(*) - sum(f.succeeded), sum(f.delivery_failed), count(nullif(f.duration_ms >= 0 and f.duration_ms < 1, 0)), count(nullif(f.duration_ms >= 1 and f.duration_ms < 2, 0)), count(nullif(f.duration_ms >= 2 and f.duration_ms < 3, 0)), count(nullif(f.duration_ms >= 3 and f.duration_ms < 4, 0)), count(nullif(f.duration_ms >= 4 and f.duration_ms < 5, 0)), count(nullif(f.duration_ms >= 5 and f.duration_ms < 6, 0)), count(nullif(f.duration_ms >= 6 and f.duration_ms < 7, 0)), count(nullif(f.duration_ms >= 7 and f.duration_ms < 8, 0)), count(nullif(f.duration_ms >= 8 and f.duration_ms < 10, 0)), count(nullif(f.duration_ms >= 10 and f.duration_ms < 12, 0)), count(nullif(f.duration_ms >= 12 and f.duration_ms < 14, 0)), count(nullif(f.duration_ms >= 14 and f.duration_ms < 17, 0)), count(nullif(f.duration_ms >= 17 and f.duration_ms < 20, 0)), count(nullif(f.duration_ms >= 20 and f.duration_ms < 24, 0)), count(nullif(f.duration_ms >= 24 and f.duration_ms < 29, 0)), count(nullif(f.duration_ms >= 29 and f.duration_ms < 35, 0)), count(nullif(f.duration_ms >= 35 and f.duration_ms < 42, 0)), count(nullif(f.duration_ms >= 42 and f.duration_ms < 50, 0)), count(nullif(f.duration_ms >= 50 and f.duration_ms < 60, 0)), count(nullif(f.duration_ms >= 60 and f.duration_ms < 72, 0)), count(nullif(f.duration_ms >= 72 and f.duration_ms < 86, 0)), count(nullif(f.duration_ms >= 86 and f.duration_ms < 103, 0)), count(nullif(f.duration_ms >= 103 and f.duration_ms < 124, 0)), count(nullif(f.duration_ms >= 124 and f.duration_ms < 149, 0)), count(nullif(f.duration_ms >= 149 and f.duration_ms < 179, 0)), count(nullif(f.duration_ms >= 179 and f.duration_ms < 215, 0)), count(nullif(f.duration_ms >= 215 and f.duration_ms < 258, 0)), count(nullif(f.duration_ms >= 258 and f.duration_ms < 310, 0)), count(nullif(f.duration_ms >= 310 and f.duration_ms < 372, 0)), count(nullif(f.duration_ms >= 372 and f.duration_ms < 446, 0)), count(nullif(f.duration_ms >= 446 and f.duration_ms < 535, 0)), count(nullif(f.duration_ms >= 535 and f.duration_ms < 642, 0)), count(nullif(f.duration_ms >= 642 and f.duration_ms < 770, 0)), count(nullif(f.duration_ms >= 770 and f.duration_ms < 924, 0)), count(nullif(f.duration_ms >= 924 and f.duration_ms < 1109, 0)), count(nullif(f.duration_ms >= 1109 and f.duration_ms < 1331, 0)), count(nullif(f.duration_ms >= 1331 and f.duration_ms < 1597, 0)), count(nullif(f.duration_ms >= 1597 and f.duration_ms < 1916, 0)), count(nullif(f.duration_ms >= 1916 and f.duration_ms < 2299, 0)), count(nullif(f.duration_ms >= 2299 and f.duration_ms < 2759, 0)), count(nullif(f.duration_ms >= 2759 and f.duration_ms < 3311, 0)), count(nullif(f.duration_ms >= 3311 and f.duration_ms < 3973, 0)), count(nullif(f.duration_ms >= 3973 and f.duration_ms < 4768, 0)), count(nullif(f.duration_ms >= 4768 and f.duration_ms < 5722, 0)), count(nullif(f.duration_ms >= 5722 and f.duration_ms < 6866, 0)), count(nullif(f.duration_ms >= 6866 and f.duration_ms < 8239, 0)), count(nullif(f.duration_ms >= 8239 and f.duration_ms < 9887, 0)), count(nullif(f.duration_ms >= 9887 and f.duration_ms < 11864, 0)), count(nullif(f.duration_ms >= 11864 and f.duration_ms < 14237, 0)), count(nullif(f.duration_ms >= 14237 and f.duration_ms < 17084, 0)), count(nullif(f.duration_ms >= 17084 and f.duration_ms < 20501, 0)), count(nullif(f.duration_ms >= 20501 and f.duration_ms < 24601, 0)), count(nullif(f.duration_ms >= 24601 and f.duration_ms < 29521, 0)), count(nullif(f.duration_ms >= 29521 and f.duration_ms < 35425, 0)), count(nullif(f.duration_ms >= 35425 and f.duration_ms < 42510, 0)), count(nullif(f.duration_ms >= 42510 and f.duration_ms < 51012, 0)), count(nullif(f.duration_ms >= 51012 and f.duration_ms < 61214, 0)), count(nullif(f.duration_ms >= 61214, 0))
from (select a.project_id as project_id, d.application_id as application_id, a.started_at as at, coalesce(json_extract(a.response, '$.status') between 200 and 299, 0) as succeeded, a.duration_ms as duration_ms, d.status = 'failed' and a.attempt = d.attempt_count as delivery_failed from attempts a join deliveries d on d.id = a.delivery_id) f
join (select 1 as minutes union all select 60 as minutes) span
join (select 0 as per_application union all select 1) scope on scope.per_application = 0 or f.application_id is not null
where true
group by f.project_id, iif(scope.per_application, f.application_id, ''), span.minutes, f.at - f.at % (span.minutes * 60000)
on conflict (project_id, application_id, span_minutes, start) do update set
  attempts = attempts + excluded.attempts,
  attempts_succeeded = attempts_succeeded + excluded.attempts_succeeded,
  attempts_failed = attempts_failed + excluded.attempts_failed,
  deliveries_failed = deliveries_failed + excluded.deliveries_failed,
  latency_ms_0 = latency_ms_0 + excluded.latency_ms_0,
  latency_ms_1 = latency_ms_1 + excluded.latency_ms_1,
  latency_ms_2 = latency_ms_2 + excluded.latency_ms_2,
  latency_ms_3 = latency_ms_3 + excluded.latency_ms_3,
  latency_ms_4 = latency_ms_4 + excluded.latency_ms_4,
  latency_ms_5 = latency_ms_5 + excluded.latency_ms_5,
  latency_ms_6 = latency_ms_6 + excluded.latency_ms_6,
  latency_ms_7 = latency_ms_7 + excluded.latency_ms_7,
  latency_ms_8 = latency_ms_8 + excluded.latency_ms_8,
  latency_ms_10 = latency_ms_10 + excluded.latency_ms_10,
  latency_ms_12 = latency_ms_12 + excluded.latency_ms_12,
  latency_ms_14 = latency_ms_14 + excluded.latency_ms_14,
  latency_ms_17 = latency_ms_17 + excluded.latency_ms_17,
  latency_ms_20 = latency_ms_20 + excluded.latency_ms_20,
  latency_ms_24 = latency_ms_24 + excluded.latency_ms_24,
  latency_ms_29 = latency_ms_29 + excluded.latency_ms_29,
  latency_ms_35 = latency_ms_35 + excluded.latency_ms_35,
  latency_ms_42 = latency_ms_42 + excluded.latency_ms_42,
  latency_ms_50 = latency_ms_50 + excluded.latency_ms_50,
  latency_ms_60 = latency_ms_60 + excluded.latency_ms_60,
  latency_ms_72 = latency_ms_72 + excluded.latency_ms_72,
  latency_ms_86 = latency_ms_86 + excluded.latency_ms_86,
  latency_ms_103 = latency_ms_103 + excluded.latency_ms_103,
  latency_ms_124 = latency_ms_124 + excluded.latency_ms_124,
  latency_ms_149 = latency_ms_149 + excluded.latency_ms_149,
  latency_ms_179 = latency_ms_179 + excluded.latency_ms_179,
  latency_ms_215 = latency_ms_215 + excluded.latency_ms_215,
  latency_ms_258 = latency_ms_258 + excluded.latency_ms_258,
  latency_ms_310 = latency_ms_310 + excluded.latency_ms_310,
  latency_ms_372 = latency_ms_372 + excluded.latency_ms_372,
  latency_ms_446 = latency_ms_446 + excluded.latency_ms_446,
  latency_ms_535 = latency_ms_535 + excluded.latency_ms_535,
  latency_ms_642 = latency_ms_642 + excluded.latency_ms_642,
  latency_ms_770 = latency_ms_770 + excluded.latency_ms_770,
  latency_ms_924 = latency_ms_924 + excluded.latency_ms_924,
  latency_ms_1109 = latency_ms_1109 + excluded.latency_ms_1109,
  latency_ms_1331 = latency_ms_1331 + excluded.latency_ms_1331,
  latency_ms_1597 = latency_ms_1597 + excluded.latency_ms_1597,
  latency_ms_1916 = latency_ms_1916 + excluded.latency_ms_1916,
  latency_ms_2299 = latency_ms_2299 + excluded.latency_ms_2299,
  latency_ms_2759 = latency_ms_2759 + excluded.latency_ms_2759,
  latency_ms_3311 = latency_ms_3311 + excluded.latency_ms_3311,
  latency_ms_3973 = latency_ms_3973 + excluded.latency_ms_3973,
  latency_ms_4768 = latency_ms_4768 + excluded.latency_ms_4768,
  latency_ms_5722 = latency_ms_5722 + excluded.latency_ms_5722,
  latency_ms_6866 = latency_ms_6866 + excluded.latency_ms_6866,
  latency_ms_8239 = latency_ms_8239 + excluded.latency_ms_8239,
  latency_ms_9887 = latency_ms_9887 + excluded.latency_ms_9887,
  latency_ms_11864 = latency_ms_11864 + excluded.latency_ms_11864,
  latency_ms_14237 = latency_ms_14237 + excluded.latency_ms_14237,
  latency_ms_17084 = latency_ms_17084 + excluded.latency_ms_17084,
  latency_ms_20501 = latency_ms_20501 + excluded.latency_ms_20501,
  latency_ms_24601 = latency_ms_24601 + excluded.latency_ms_24601,
  latency_ms_29521 = latency_ms_29521 + excluded.latency_ms_29521,
  latency_ms_35425 = latency_ms_35425 + excluded.latency_ms_35425,
  latency_ms_42510 = latency_ms_42510 + excluded.latency_ms_42510,
  latency_ms_51012 = latency_ms_51012 + excluded.latency_ms_51012,
  latency_ms_61214 = latency_ms_61214 + excluded.latency_ms_61214;
