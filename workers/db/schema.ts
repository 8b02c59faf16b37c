/**
 * @module The D1 schema: the one truth for Ferry's tables, in pipeline order.
 * Migrations in `migrations/` are generated from this file by drizzle-kit; `npm test` fails on drift.
 * Times are `timestamp_ms` integers. Ids are prefixed and time-sortable (see ids.ts), so lists page by id.
 */
import { sql } from "drizzle-orm";
import { index, integer, primaryKey, sqliteTable, text, uniqueIndex } from "drizzle-orm/sqlite-core";

export const DELIVERY_STATUSES = ["queued", "sending", "retrying", "succeeded", "failed", "paused"] as const;
export type DeliveryStatus = (typeof DELIVERY_STATUSES)[number];

/** Not finished yet: retention never deletes these, nor the event they send. */
export const PENDING_DELIVERY_STATUSES = ["queued", "sending", "retrying", "paused"] as const satisfies readonly DeliveryStatus[];

export const ATTEMPT_TRIGGERS = ["scheduled", "manual"] as const;

export const ENDPOINT_STATUSES = ["active", "disabled"] as const;
export type EndpointStatus = (typeof ENDPOINT_STATUSES)[number];

/** "meta" endpoints receive Ferry's operational events; fan-out by event type never picks them. */
export const ENDPOINT_ROLES = ["webhook", "meta"] as const;

const createdAt = integer("created_at", { mode: "timestamp_ms" }).notNull();
const updatedAt = integer("updated_at", { mode: "timestamp_ms" }).notNull();

export const projects = sqliteTable("projects", {
  id: text("id").primaryKey(),
  name: text("name").notNull(),
  /** string[]: who gets endpoint-health emails. */
  alertEmails: text("alert_emails", { mode: "json" }).$type<string[]>().notNull(),
  /** Seconds to wait after each failed attempt; null = the deployment default. */
  retrySchedule: text("retry_schedule", { mode: "json" }).$type<number[] | null>(),
  circuitOpenAfter: integer("circuit_open_after").notNull(),
  disableAfter: integer("disable_after").notNull(),
  disableAfterSeconds: integer("disable_after_seconds").notNull(),
  /**
   * Where Ferry sends its own operational events (endpoint.disabled, …): an endpoint row with role "meta",
   * so they travel the same signed delivery path as every other webhook.
   */
  metaEndpointId: text("meta_endpoint_id"),
  /** Events (with their deliveries and attempts) older than this are deleted; see retention/. */
  retentionDays: integer("retention_days").notNull().default(30),
  /**
   * The last event id the retention job looked at in the current pass; it resumes after it, and starts
   * over from the oldest once a pass reaches the horizon. Null between passes.
   */
  retentionCursor: text("retention_cursor"),
  /** How the customer portal looks and which sites may frame it; null = Ferry's defaults, framed by nobody. */
  portal: text("portal", { mode: "json" }).$type<PortalSettings | null>(),
  /**
   * Set by a project delete: its keys, portal sessions and deliveries stop at once, and its `project.delete`
   * job then deletes its rows in bounded steps, this one last.
   */
  deletedAt: integer("deleted_at", { mode: "timestamp_ms" }),
  createdAt,
  updatedAt,
});
export type Project = typeof projects.$inferSelect;

export type PortalSettings = {
  brandName: string | null;
  logoUrl: string | null;
  primaryColor: string | null;
  /** Origins allowed to embed the portal in an iframe: the CSP `frame-ancestors` of portal pages. */
  allowedOrigins: string[];
};

/** A key is shown once; only its SHA-256 is stored. `prefix` lets people tell keys apart. */
export const apiKeys = sqliteTable(
  "api_keys",
  {
    id: text("id").primaryKey(),
    projectId: text("project_id")
      .notNull()
      .references(() => projects.id, { onDelete: "cascade" }),
    name: text("name").notNull(),
    prefix: text("prefix").notNull(),
    hashedKey: text("hashed_key").notNull(),
    lastUsedAt: integer("last_used_at", { mode: "timestamp_ms" }),
    revokedAt: integer("revoked_at", { mode: "timestamp_ms" }),
    createdAt,
  },
  (t) => [
    // Every authenticated request looks its key up by hash.
    uniqueIndex("api_keys_hashed_key_unique_idx").on(t.hashedKey),
    index("api_keys_project_id_idx").on(t.projectId),
  ],
);
export type ApiKey = typeof apiKeys.$inferSelect;

/**
 * One of a project's customers (Svix's "application"): its endpoints get only the events sent to it, and its
 * portal links open a view of it alone. `uid` is the sender's own id for the customer.
 * Soft-deleted, so the events and deliveries that point at it keep their meaning.
 */
export const applications = sqliteTable(
  "applications",
  {
    id: text("id").primaryKey(),
    projectId: text("project_id")
      .notNull()
      .references(() => projects.id, { onDelete: "cascade" }),
    uid: text("uid"),
    name: text("name").notNull(),
    /** Record<string, string>: the sender's own labels. */
    metadata: text("metadata", { mode: "json" }).$type<Record<string, string>>().notNull(),
    /** The rate limit an endpoint created in it without one of its own starts with. */
    rateLimitPerSecond: integer("rate_limit_per_second"),
    /**
     * HMAC key of its portal links and sessions. Revoking the links replaces it, which ends every session
     * they opened: every portal request is verified against the current key.
     */
    portalKey: text("portal_key").notNull(),
    deletedAt: integer("deleted_at", { mode: "timestamp_ms" }),
    createdAt,
    updatedAt,
  },
  (t) => [
    // The application list, newest first.
    index("applications_project_id_id_idx").on(t.projectId, t.id),
    // `/applications/<uid>` lookups; a deleted application's uid may be used again.
    uniqueIndex("applications_project_id_uid_unique_idx")
      .on(t.projectId, t.uid)
      .where(sql`${t.uid} is not null and ${t.deletedAt} is null`),
  ],
);
export type Application = typeof applications.$inferSelect;

/** A signing secret; expired ones stop signing once `expiresAt` has passed (rotation overlap). */
export type EndpointSecret = { value: string; createdAt: number; expiresAt: number | null };

export const endpoints = sqliteTable(
  "endpoints",
  {
    id: text("id").primaryKey(),
    projectId: text("project_id")
      .notNull()
      .references(() => projects.id, { onDelete: "cascade" }),
    url: text("url").notNull(),
    role: text("role", { enum: ENDPOINT_ROLES }).notNull().default("webhook"),
    /** The customer it belongs to; null = the project's own endpoint, which gets events sent to no application. */
    applicationId: text("application_id").references(() => applications.id),
    description: text("description").notNull().default(""),
    /** The sender's own id for it, unique within its application (Svix's endpoint `uid`). */
    uid: text("uid"),
    /** Record<string, string>: the sender's own labels. */
    metadata: text("metadata", { mode: "json" }).$type<Record<string, string>>().notNull().default({}),
    /** string[]; empty = every event type. */
    eventTypes: text("event_types", { mode: "json" }).$type<string[]>().notNull(),
    /** Record<string, string> added to every request. */
    headers: text("headers", { mode: "json" }).$type<Record<string, string>>().notNull(),
    timeoutMs: integer("timeout_ms").notNull(),
    rateLimitPerSecond: integer("rate_limit_per_second"),
    /** EndpointSecret[], newest first. */
    secrets: text("secrets", { mode: "json" }).$type<EndpointSecret[]>().notNull(),
    status: text("status", { enum: ENDPOINT_STATUSES }).notNull(),
    disabledReason: text("disabled_reason"),
    disabledAt: integer("disabled_at", { mode: "timestamp_ms" }),
    /** Soft delete: attempts keep pointing at the endpoint they were sent to. */
    deletedAt: integer("deleted_at", { mode: "timestamp_ms" }),
    createdAt,
    updatedAt,
  },
  (t) => [
    // Fan-out at ingest and the endpoint list.
    index("endpoints_project_id_idx").on(t.projectId, t.id),
    // Fan-out of an application's events and its endpoint list.
    index("endpoints_project_id_application_id_id_idx").on(t.projectId, t.applicationId, t.id),
    // The sweeper's paused revival: deliveries of active endpoints, found endpoint by endpoint.
    index("endpoints_status_id_idx").on(t.status, t.id),
    // `/app/<app>/endpoint/<uid>` lookups; a deleted endpoint's uid may be used again.
    uniqueIndex("endpoints_project_id_application_id_uid_unique_idx")
      .on(t.projectId, t.applicationId, t.uid)
      .where(sql`${t.uid} is not null and ${t.deletedAt} is null`),
  ],
);
export type Endpoint = typeof endpoints.$inferSelect;

/**
 * How an event's payload is wrapped in the bytes sent: Ferry's envelope {"type","timestamp","data"}, or the
 * payload alone (Svix messages, whose receivers expect exactly what was sent).
 */
export const BODY_FORMATS = ["envelope", "payload"] as const;
export type BodyFormat = (typeof BODY_FORMATS)[number];

/**
 * `body` holds the exact bytes sent on every attempt, in `bodyFormat`; or, when they are larger
 * than db/bodies.ts's inline limit, `r2:<key>#<offset>,<length>`, where they are in R2 (a body is JSON, so
 * it never starts with "r2:").
 */
export const events = sqliteTable(
  "events",
  {
    id: text("id").primaryKey(),
    projectId: text("project_id")
      .notNull()
      .references(() => projects.id, { onDelete: "cascade" }),
    eventType: text("event_type").notNull(),
    /** The application it was sent to; it fans out to that application's endpoints only. */
    applicationId: text("application_id"),
    body: text("body").notNull(),
    bodyFormat: text("body_format", { enum: BODY_FORMATS }).notNull().default("envelope"),
    idempotencyKey: text("idempotency_key"),
    createdAt,
  },
  (t) => [
    // The event list, newest first, optionally by type.
    index("events_project_id_id_idx").on(t.projectId, t.id),
    index("events_project_id_event_type_id_idx").on(t.projectId, t.eventType, t.id),
    // An application's event list (and its portal's). Every query names the application (`= ?`), so events of
    // none, most events of a project without applications, are left out of these indexes and cost no writes in them.
    index("events_project_id_application_id_id_idx")
      .on(t.projectId, t.applicationId, t.id)
      .where(sql`${t.applicationId} is not null`),
    // The event types an application has been sent (`/event-types?application=`), one index seek per type.
    index("events_project_id_application_id_event_type_idx")
      .on(t.projectId, t.applicationId, t.eventType)
      .where(sql`${t.applicationId} is not null`),
    uniqueIndex("events_project_id_idempotency_key_unique_idx")
      .on(t.projectId, t.idempotencyKey)
      .where(sql`${t.idempotencyKey} is not null`),
  ],
);
export type Event = typeof events.$inferSelect;

/**
 * One row per (event, endpoint): the summary of its attempts and what happens next.
 * A sender owns it only while `status = 'sending'` and `leaseUntil` is in the future (see delivery/claim.ts).
 */
export const deliveries = sqliteTable(
  "deliveries",
  {
    id: text("id").primaryKey(),
    projectId: text("project_id")
      .notNull()
      .references(() => projects.id, { onDelete: "cascade" }),
    eventId: text("event_id")
      .notNull()
      .references(() => events.id, { onDelete: "cascade" }),
    endpointId: text("endpoint_id")
      .notNull()
      .references(() => endpoints.id, { onDelete: "cascade" }),
    /** Copied from the event so delivery lists filter by type without a join. */
    eventType: text("event_type").notNull(),
    /** Copied from the endpoint, so an application's deliveries are listed (and a portal scoped) without a join. */
    applicationId: text("application_id"),
    status: text("status", { enum: DELIVERY_STATUSES }).notNull(),
    /** Every attempt ever made; attempt numbers keep counting up across resends. */
    attemptCount: integer("attempt_count").notNull().default(0),
    /** Steps of the retry schedule used since the last (re)send; a resend starts the schedule over. */
    scheduleStep: integer("schedule_step").notNull().default(0),
    /** What the next attempt answers: a person's resend ("manual") or the schedule. */
    nextTrigger: text("next_trigger", { enum: ATTEMPT_TRIGGERS }).notNull().default("scheduled"),
    nextAttemptAt: integer("next_attempt_at", { mode: "timestamp_ms" }),
    leaseUntil: integer("lease_until", { mode: "timestamp_ms" }),
    /**
     * When a queue message was last sent for it; the sweeper leaves recently enqueued rows alone. A hand-off
     * to an endpoint's slow lane sets it to when the lane promises to have claimed it.
     */
    enqueuedAt: integer("enqueued_at", { mode: "timestamp_ms" }),
    /**
     * Set while it waits behind its endpoint's open circuit for the probe's outcome, with no queue message:
     * the endpoint's DO releases it when a probe succeeds. Its `next_attempt_at` is then the backstop (the
     * longest hold), after which the sweeper finds it like any lost message.
     */
    heldAt: integer("held_at", { mode: "timestamp_ms" }),
    lastStatusCode: integer("last_status_code"),
    lastError: text("last_error"),
    lastAttemptAt: integer("last_attempt_at", { mode: "timestamp_ms" }),
    createdAt,
    updatedAt,
  },
  (t) => [
    // The delivery list and its filters, newest first.
    index("deliveries_project_id_id_idx").on(t.projectId, t.id),
    index("deliveries_project_id_status_id_idx").on(t.projectId, t.status, t.id),
    index("deliveries_project_id_endpoint_id_id_idx").on(t.projectId, t.endpointId, t.id),
    index("deliveries_project_id_event_type_id_idx").on(t.projectId, t.eventType, t.id),
    // An event's deliveries: its detail, `/deliveries?eventId=`, and, covering, their counts per status in the
    // event list (`status` is in it so the planner does not prefer a covering index by project alone). Led by
    // `event_id`, it is also what the foreign key's cascade, fan-out's "has deliveries" check and retention's
    // pending check look up by the event alone: one index fewer to write per delivery.
    index("deliveries_event_id_project_id_id_status_idx").on(t.eventId, t.projectId, t.id, t.status),
    // The event list filtered by delivery status or endpoint walks deliveries in event order.
    index("deliveries_project_id_status_event_id_idx").on(t.projectId, t.status, t.eventId),
    index("deliveries_project_id_endpoint_id_event_id_idx").on(t.projectId, t.endpointId, t.eventId),
    // An application's delivery list (and its portal's); like the events', only rows of an application.
    index("deliveries_project_id_application_id_id_idx")
      .on(t.projectId, t.applicationId, t.id)
      .where(sql`${t.applicationId} is not null`),
    // The sweeper: due rows by status and time, across projects.
    index("deliveries_status_next_attempt_at_idx").on(t.status, t.nextAttemptAt),
    // Pausing and re-queuing an endpoint's pending deliveries.
    index("deliveries_endpoint_id_status_idx").on(t.endpointId, t.status),
    // Releasing an endpoint's held deliveries in chunks once its probe succeeds.
    index("deliveries_endpoint_id_held_at_idx")
      .on(t.endpointId, t.heldAt)
      .where(sql`${t.heldAt} is not null`),
  ],
);
export type Delivery = typeof deliveries.$inferSelect;

/** What an attempt sent and received, in full; db/attempts.ts turns it into the stored row and back. */
export type RecordedRequest = { url: string; headers: Record<string, string> };
export type RecordedResponse = {
  status: number;
  headers: Record<string, string>;
  body: string;
  /** The receiver sent more than outbound/'s read limit. */
  bodyTruncated: boolean;
};

/**
 * The request as stored: only what varies. Content type, user agent, webhook-id (the event id) and
 * webhook-timestamp (the attempt's start) are derived on read. Rows written before this shape hold
 * `{ url, headers }` with every header.
 */
export type StoredRequest = { url: string; signature?: string; endpointHeaders?: Record<string, string> } | RecordedRequest;
/**
 * The response as stored: the first bytes of the body (enough for lists and a first look); when the body
 * is longer, the whole of it is in R2 (db/bodies.ts). Older rows hold a RecordedResponse with the full body.
 */
export type StoredResponse = { status: number; headers: Record<string, string>; excerpt: string; bodyBytes: number; bodyTruncated: boolean } | RecordedResponse;

/**
 * Append-only: one row per attempt, never updated. The request body is the event's `body`
 * (the same bytes every attempt), so it is not stored here.
 */
export const attempts = sqliteTable(
  "attempts",
  {
    id: text("id").primaryKey(),
    projectId: text("project_id")
      .notNull()
      .references(() => projects.id, { onDelete: "cascade" }),
    deliveryId: text("delivery_id")
      .notNull()
      .references(() => deliveries.id, { onDelete: "cascade" }),
    attempt: integer("attempt").notNull(),
    trigger: text("trigger", { enum: ATTEMPT_TRIGGERS }).notNull(),
    startedAt: integer("started_at", { mode: "timestamp_ms" }).notNull(),
    durationMs: integer("duration_ms").notNull(),
    request: text("request", { mode: "json" }).$type<StoredRequest>().notNull(),
    response: text("response", { mode: "json" }).$type<StoredResponse | null>(),
    error: text("error"),
  },
  (t) => [
    // A delivery's timeline, oldest first; unique, so an attempt number is recorded once whoever sends it.
    uniqueIndex("attempts_delivery_id_attempt_unique_idx").on(t.deliveryId, t.attempt),
    // A project's attempt list, newest first.
    index("attempts_project_id_id_idx").on(t.projectId, t.id),
  ],
);
export type Attempt = typeof attempts.$inferSelect;

/**
 * Floors of the attempt latency histogram's bins, in ms: one bin per ms up to 8, then each floor about 1.2×
 * the one before, up to 61,214 ms (past any endpoint timeout), whose bin holds everything slower. 58 bins,
 * so a row stays well under D1's 100 columns. A percentile read from them is the middle of the bin holding
 * the true value: exact up to 8 ms, within 10 % of it above (see db/stats.ts).
 */
export const LATENCY_BIN_FLOORS_MS: readonly number[] = (() => {
  const floors = [0];
  while (floors.at(-1)! < 60_000) floors.push(Math.max(floors.at(-1)! + 1, Math.round(floors.at(-1)! * 1.2)));
  return floors;
})();
export const latencyBinColumn = (floorMs: number) => `latency_ms_${floorMs}`;

/**
 * The rollups behind `/stats`: a row per minute and one per hour, for the whole project (`application_id`
 * '') and per application with activity then, so `/stats` reads a row per bucket or per hour however many
 * rows they count. They count what never changes once written, each in the statement batch that writes it
 * (db/stats-rollups.ts), so nothing has to be recounted:
 * - `events`, `deliveries`: created in the span (ingest's write);
 * - `attempts…` and the latency bins: attempts started in it, by outcome (a 2xx response or not) and by
 *   duration (column `latency_ms_<floor>` counts those in [floor, next floor)); `deliveries_failed`: those of
 *   them that used up their delivery's schedule (the attempt's record).
 * Retention deletes rows past the project's horizon; a project delete deletes its rows.
 */
export const statsRollups = sqliteTable(
  "stats_rollups",
  {
    projectId: text("project_id")
      .notNull()
      .references(() => projects.id, { onDelete: "cascade" }),
    /** '': the whole project (every application's and none's), so project and application rows share one unique index. */
    applicationId: text("application_id").notNull(),
    spanMinutes: integer("span_minutes").notNull(),
    start: integer("start", { mode: "timestamp_ms" }).notNull(),
    events: integer("events").notNull().default(0),
    deliveries: integer("deliveries").notNull().default(0),
    deliveriesFailed: integer("deliveries_failed").notNull().default(0),
    attempts: integer("attempts").notNull().default(0),
    attemptsSucceeded: integer("attempts_succeeded").notNull().default(0),
    attemptsFailed: integer("attempts_failed").notNull().default(0),
    ...Object.fromEntries(LATENCY_BIN_FLOORS_MS.map((floor) => [latencyBinColumn(floor), integer(latencyBinColumn(floor)).notNull().default(0)])),
  },
  (t) => [
    // `/stats` (and `?application=`): the rows of a span since a time; and the writes' upserts.
    uniqueIndex("stats_rollups_project_id_application_id_span_minutes_start_unique_idx").on(t.projectId, t.applicationId, t.spanMinutes, t.start),
    // Retention: all of a project's rows (the project's and its applications', of both spans) before its horizon.
    index("stats_rollups_project_id_start_idx").on(t.projectId, t.start),
  ],
);

export const ALERT_KINDS = ["endpoint.disabled", "endpoint.circuit_opened"] as const;
/** `unknown`: MailChannels was called but its answer was never recorded; never sent again (at most once). */
export const ALERT_STATUSES = ["pending", "sending", "sent", "skipped", "failed", "unknown"] as const;
export type AlertStatus = (typeof ALERT_STATUSES)[number];

/**
 * The alert outbox: an email is written here in the same breath as the state change it reports, then sent
 * (and retried) by the endpoint's DO alarm, with the sweeper as a backstop. `dedupeKey` names the change
 * (endpoint + when it was disabled), so a retried disable cannot write a second email.
 */
export const alerts = sqliteTable(
  "alerts",
  {
    id: text("id").primaryKey(),
    projectId: text("project_id")
      .notNull()
      .references(() => projects.id, { onDelete: "cascade" }),
    endpointId: text("endpoint_id")
      .notNull()
      .references(() => endpoints.id, { onDelete: "cascade" }),
    kind: text("kind", { enum: ALERT_KINDS }).notNull(),
    dedupeKey: text("dedupe_key").notNull(),
    /** string[] */
    recipients: text("recipients", { mode: "json" }).$type<string[]>().notNull(),
    subject: text("subject").notNull(),
    text: text("text").notNull(),
    html: text("html").notNull(),
    status: text("status", { enum: ALERT_STATUSES }).notNull(),
    attempts: integer("attempts").notNull().default(0),
    nextAttemptAt: integer("next_attempt_at", { mode: "timestamp_ms" }),
    leaseUntil: integer("lease_until", { mode: "timestamp_ms" }),
    lastError: text("last_error"),
    sentAt: integer("sent_at", { mode: "timestamp_ms" }),
    createdAt,
  },
  (t) => [
    uniqueIndex("alerts_dedupe_key_unique_idx").on(t.dedupeKey),
    // The alert list, newest first.
    index("alerts_project_id_id_idx").on(t.projectId, t.id),
    index("alerts_project_id_endpoint_id_id_idx").on(t.projectId, t.endpointId, t.id),
    // The outbox: pending alerts by due time.
    index("alerts_status_next_attempt_at_idx").on(t.status, t.nextAttemptAt),
  ],
);
export type Alert = typeof alerts.$inferSelect;

/**
 * A project's event type catalog: what its endpoints may subscribe to, with descriptions and JSON schemas.
 * Archived types stay listed on request; sending an event never requires one.
 */
export const eventTypes = sqliteTable(
  "event_types",
  {
    projectId: text("project_id")
      .notNull()
      .references(() => projects.id, { onDelete: "cascade" }),
    name: text("name").notNull(),
    description: text("description").notNull(),
    archived: integer("archived", { mode: "boolean" }).notNull().default(false),
    deprecated: integer("deprecated", { mode: "boolean" }).notNull().default(false),
    /** Record<version, JSON schema> */
    schemas: text("schemas", { mode: "json" }).$type<Record<string, unknown> | null>(),
    featureFlags: text("feature_flags", { mode: "json" }).$type<string[] | null>(),
    groupName: text("group_name"),
    createdAt,
    updatedAt,
  },
  (t) => [
    // One type by name, and the catalog in name order.
    primaryKey({ name: "event_types_project_id_name_pk", columns: [t.projectId, t.name] }),
  ],
);
export type EventTypeRow = typeof eventTypes.$inferSelect;

/**
 * Answers to requests sent with an `idempotency-key` header, kept for a day so that a retried request gets
 * the first answer instead of doing the work twice. `response` is null while the first request runs.
 */
export const idempotentResponses = sqliteTable(
  "idempotent_responses",
  {
    projectId: text("project_id")
      .notNull()
      .references(() => projects.id, { onDelete: "cascade" }),
    key: text("key").notNull(),
    /** "POST /svix/api/v1/app/…": a key reused for another request is refused, not answered wrongly. */
    request: text("request").notNull(),
    response: text("response", { mode: "json" }).$type<{ status: number; body: string } | null>(),
    createdAt,
  },
  (t) => [
    // A retried request looks its key up.
    primaryKey({ name: "idempotent_responses_project_id_key_pk", columns: [t.projectId, t.key] }),
    // Expired answers are deleted oldest first.
    index("idempotent_responses_created_at_idx").on(t.createdAt),
  ],
);

/**
 * What a bulk job works on: the endpoint or application it changes, or a resend's filter (times as ms).
 * `disabledAt` is the disable an enable ended (it names the endpoint.enabled meta event).
 */
export type JobParams = {
  endpointId?: string;
  applicationId?: string;
  disabledAt?: number | null;
  filter?: {
    status?: DeliveryStatus;
    statuses?: DeliveryStatus[];
    eventTypes?: string[];
    endpointId?: string;
    applicationId?: string;
    eventId?: string;
    eventType?: string;
    since?: number;
    until?: number;
  };
};
export const JOB_KINDS = ["endpoint.enable", "endpoint.pause", "endpoint.delete", "application.delete", "deliveries.resend", "project.delete"] as const;
export type JobKind = (typeof JOB_KINDS)[number];
export const JOB_STATUSES = ["running", "succeeded", "cancelled"] as const;

/**
 * A bulk operation too large for one request or one statement (workers/jobs/): each step does one bounded
 * chunk and hands the next to the delivery queue as `{jobId}`. D1 is the truth: a step holds the job only
 * while `leaseUntil` is in the future, and the cron restarts a running job nobody has touched for a while
 * (its message was lost or its step died).
 */
export const jobs = sqliteTable(
  "jobs",
  {
    id: text("id").primaryKey(),
    projectId: text("project_id")
      .notNull()
      .references(() => projects.id, { onDelete: "cascade" }),
    kind: text("kind", { enum: JOB_KINDS }).notNull(),
    params: text("params", { mode: "json" }).$type<JobParams>().notNull(),
    status: text("status", { enum: JOB_STATUSES }).notNull(),
    /**
     * Where the next step resumes (a delivery id, for kinds that walk an id range; the table it is emptying,
     * for a project delete); null = from the start.
     */
    cursor: text("cursor"),
    /** Rows changed so far. */
    processed: integer("processed").notNull().default(0),
    steps: integer("steps").notNull().default(0),
    leaseUntil: integer("lease_until", { mode: "timestamp_ms" }),
    finishedAt: integer("finished_at", { mode: "timestamp_ms" }),
    createdAt,
    updatedAt,
  },
  (t) => [
    // The cron: running jobs nobody has touched for a while.
    index("jobs_status_updated_at_idx").on(t.status, t.updatedAt),
    // A project delete deletes the project's other jobs in chunks.
    index("jobs_project_id_id_idx").on(t.projectId, t.id),
  ],
);
export type Job = typeof jobs.$inferSelect;
