/**
 * Every list filter and detail read of the API (and of the Svix API, which reads through the same helpers)
 * is planned by SQLite on the real migrated schema: `EXPLAIN QUERY PLAN` of the SQL the helpers build must
 * use an index for every table (no `SCAN <table>`) and never sort a table's rows for an ORDER BY (no
 * `USE TEMP B-TREE FOR ORDER BY`). Without ANALYZE statistics, SQLite plans the same at 1 M rows as on this
 * empty database, so a plan that scans here scans in production.
 */
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { alertListQuery } from "../../../workers/db/alerts";
import { applicationListQuery, applicationQuery } from "../../../workers/db/applications";
import { attemptListQuery, attemptQuery } from "../../../workers/db/attempts";
import { database } from "../../../workers/db/client";
import { deliveryDetailQueries, deliveryListQuery } from "../../../workers/db/deliveries";
import { applicationEndpointQuery, endpointListQuery, endpointQuery } from "../../../workers/db/endpoints";
import { eventTypeListQuery, eventTypeQuery } from "../../../workers/db/event-types";
import { applicationEventQuery, deliveryStatusesQuery, eventDetailQueries, eventListQuery, sentEventTypesQuery } from "../../../workers/db/events";
import { statsQueries } from "../../../workers/db/stats";

type Built = { toSQL(): { sql: string; params: unknown[] } } | { getQuery(): { sql: string; params: unknown[] } };

const db = database(env);
const P = "prj_plan";
const APP = "app_plan";
const EP = "ep_plan";
const EVT = "evt_plan";
const page = { limit: 50, cursor: "zzz" };
const since = new Date("2026-01-01T00:00:00Z");
const until = new Date("2026-01-02T00:00:00Z");

/** The tables of the schema: a SCAN of anything else (a CTE, json_each, a constant row) reads no stored rows. */
const TABLES = new Set(["projects", "api_keys", "applications", "endpoints", "events", "deliveries", "attempts", "alerts", "event_types", "idempotent_responses", "stats_rollups"]);

async function planOf(query: Built): Promise<string[]> {
  const { sql, params } = "toSQL" in query ? query.toSQL() : query.getQuery();
  const { results } = await env.DB.prepare(`explain query plan ${sql}`)
    .bind(...params)
    .all<{ detail: string }>();
  return results.map((row) => row.detail);
}

/** The lines of a plan that read a whole table or sort one. */
function fullScansAndSorts(plan: string[]): string[] {
  return plan.filter((line) => {
    const scan = /^SCAN (\w+)/.exec(line);
    if (scan) return TABLES.has(scan[1]) && !/USING (COVERING )?INDEX/.test(line);
    return /USE TEMP B-TREE FOR (.* )?ORDER BY/.test(line);
  });
}

/**
 * Each read by the request it serves, with the indexes its plan must use (a plan can use an index and still
 * walk the project's rows in it, filtering: naming the index shows the filter is what the index seeks).
 * A pair of queries is a detail read's batch.
 */
const ROLLUPS_SEEK = "stats_rollups_project_id_application_id_span_minutes_start_unique_idx (project_id=? AND application_id=? AND span_minutes=? AND start>? AND start<?)";

const reads: [string, Built | readonly Built[], string[]][] = [
  ["GET /events", eventListQuery(db, P, {}, page), ["events_project_id_id_idx"]],
  ["GET /events?eventType=", eventListQuery(db, P, { eventType: "order.paid" }, page), ["events_project_id_event_type_id_idx"]],
  ["GET /events?application=", eventListQuery(db, P, { applicationId: APP }, page), ["events_project_id_application_id_id_idx"]],
  ["GET /events?status=", eventListQuery(db, P, { status: "failed" }, page), ["deliveries_project_id_status_event_id_idx"]],
  ["GET /events?endpointId=", eventListQuery(db, P, { endpointId: EP }, page), ["deliveries_project_id_endpoint_id_event_id_idx"]],
  ["GET /events?status=&endpointId=&eventType=", eventListQuery(db, P, { status: "failed", endpointId: EP, eventType: "order.paid" }, page), ["deliveries_project_id_endpoint_id_event_id_idx"]],
  ["GET /events?search=", eventListQuery(db, P, { search: "key-1" }, page), ["sqlite_autoindex_events_1", "events_project_id_idempotency_key_unique_idx"]],
  ["GET /events?status=&search=", eventListQuery(db, P, { status: "succeeded", search: "key-1" }, page), ["events_project_id_idempotency_key_unique_idx"]],
  ["GET /events?since=&until=", eventListQuery(db, P, { since, until }, page), ["events_project_id_id_idx (project_id=? AND id>? AND id<?)"]],
  ["GET /events?status=&since=&until=", eventListQuery(db, P, { status: "paused", since, until }, page), ["event_id>? AND event_id<?"]],
  ["GET /events: delivery counts per event", deliveryStatusesQuery(db, P, [EVT, "evt_2", "evt_3"]), ["deliveries_event_id_project_id_id_status_idx (event_id=? AND project_id=?)"]],
  ["Svix GET /app/:app/msg?event_types=", eventListQuery(db, P, { applicationId: APP, eventTypes: ["a", "b"] }, page), ["events_project_id_application_id_id_idx"]],
  ["Svix GET /app/:app/msg?event_types=&after=&before=", eventListQuery(db, P, { applicationId: APP, eventTypes: ["a", "b"], since, until }, page), ["events_project_id_application_id_id_idx (project_id=? AND application_id=? AND id>? AND id<?)"]],
  ["GET /events/:id", eventDetailQueries(db, P, EVT), ["sqlite_autoindex_events_1", "deliveries_event_id_project_id_id_status_idx (event_id=? AND project_id=?)"]],
  ["Svix GET /app/:app/msg/:msg", applicationEventQuery(db, P, APP, "key-1"), ["events_project_id_idempotency_key_unique_idx"]],
  ["GET /event-types", sentEventTypesQuery(db, P, 500), ["events_project_id_event_type_id_idx (project_id=? AND event_type>?)"]],
  ["GET /event-types?application=", sentEventTypesQuery(db, P, 500, APP), ["events_project_id_application_id_event_type_idx (project_id=? AND application_id=? AND event_type>?)"]],
  ["GET /deliveries", deliveryListQuery(db, P, {}, page), ["deliveries_project_id_id_idx"]],
  ["GET /deliveries?status=", deliveryListQuery(db, P, { status: "failed" }, page), ["deliveries_project_id_status_id_idx"]],
  ["GET /deliveries?endpointId=", deliveryListQuery(db, P, { endpointId: EP }, page), ["deliveries_project_id_endpoint_id_id_idx"]],
  ["GET /deliveries?application=", deliveryListQuery(db, P, { applicationId: APP }, page), ["deliveries_project_id_application_id_id_idx"]],
  ["GET /deliveries?eventId=", deliveryListQuery(db, P, { eventId: EVT }, page), ["deliveries_event_id_project_id_id_status_idx"]],
  ["GET /deliveries?eventType=", deliveryListQuery(db, P, { eventType: "order.paid" }, page), ["deliveries_project_id_event_type_id_idx"]],
  ["GET /deliveries?since=&until=", deliveryListQuery(db, P, { since, until }, page), ["deliveries_project_id_id_idx (project_id=? AND id>? AND id<?)"]],
  ["Svix GET /app/:app/endpoint/:ep/msg?status=", deliveryListQuery(db, P, { endpointId: EP, statuses: ["queued", "retrying", "paused"] }, page), ["deliveries_project_id_endpoint_id_id_idx"]],
  ["Svix GET /app/:app/endpoint/:ep/msg?event_types=", deliveryListQuery(db, P, { endpointId: EP, eventTypes: ["a"] }, page), ["deliveries_project_id_event_type_id_idx"]],
  ["GET /deliveries/:id", deliveryDetailQueries(db, P, "dlv_plan"), ["deliveries_project_id_id_idx (project_id=? AND id=?)", "attempts_delivery_id_attempt_unique_idx"]],
  ["Svix GET /app/:app/attempt/endpoint/:ep", attemptListQuery(db, P, { applicationId: APP, endpointId: EP, succeeded: false, statusClass: 500 }, page), ["attempts_project_id_id_idx"]],
  ["Svix GET /app/:app/attempt/msg/:msg", attemptListQuery(db, P, { applicationId: APP, eventId: EVT, since, until }, page), ["attempts_project_id_id_idx"]],
  ["Svix GET /app/:app/msg/:msg/attempt/:id", attemptQuery(db, P, EVT, "atm_plan"), ["attempts_project_id_id_idx (project_id=? AND id=?)"]],
  ["GET /endpoints", endpointListQuery(db, P, page), ["endpoints_project_id_idx"]],
  ["GET /endpoints?application=", endpointListQuery(db, P, { ...page, applicationId: APP }), ["endpoints_project_id_application_id_id_idx"]],
  ["GET /endpoints/:id", endpointQuery(db, P, EP), ["sqlite_autoindex_endpoints_1"]],
  ["Svix GET /app/:app/endpoint/:ep", applicationEndpointQuery(db, P, APP, "uid-1"), ["endpoints_project_id_application_id_id_idx"]],
  ["GET /applications", applicationListQuery(db, P, page), ["applications_project_id_id_idx"]],
  ["GET /applications/:id (id or uid)", applicationQuery(db, P, "uid-1"), ["sqlite_autoindex_applications_1", "applications_project_id_uid_unique_idx"]],
  ["Svix GET /event-type", eventTypeListQuery(db, P, { limit: 50, cursor: "a", includeArchived: false }), ["sqlite_autoindex_event_types_1"]],
  ["Svix GET /event-type/:name", eventTypeQuery(db, P, "order.paid"), ["sqlite_autoindex_event_types_1 (project_id=? AND name=?)"]],
  ["GET /alerts", alertListQuery(db, P, page), ["alerts_project_id_id_idx"]],
  ["GET /alerts?endpointId=", alertListQuery(db, P, { ...page, endpointId: EP }), ["alerts_project_id_endpoint_id_id_idx"]],
  ["GET /stats (hour buckets: hour rows)", statsQueries(db, P, since, until, 3_600_000), [ROLLUPS_SEEK, "deliveries_project_id_status_id_idx (project_id=? AND status=? AND id>?)"]],
  ["GET /stats?bucketMinutes=5 (minute rows)", statsQueries(db, P, since, until, 300_000), [ROLLUPS_SEEK]],
  ["GET /stats?application=", statsQueries(db, P, since, until, 3_600_000, APP), [ROLLUPS_SEEK, "deliveries_project_id_status_id_idx (project_id=? AND status=? AND id>?)"]],
];

describe("query plans of the API's reads", () => {
  it.each(reads)("%s uses its index, no full scan and no sort", async (_name, built, indexes) => {
    const queries = Array.isArray(built) ? built : [built as Built];
    const plans: string[] = [];
    for (const query of queries) {
      const plan = await planOf(query);
      expect(plan.length).toBeGreaterThan(0);
      expect(fullScansAndSorts(plan), plan.join("\n")).toEqual([]);
      plans.push(...plan);
    }
    for (const index of indexes) expect(plans.join("\n")).toContain(index);
  });

  it("/stats seeks only its range's rows into buckets: the minutes before the first whole hour, then hours", async () => {
    const plan = await planOf(statsQueries(db, P, new Date("2026-01-01T00:30:00Z"), until, 3_600_000)[1]);
    const seeks = plan.filter((line) => /^(SCAN|SEARCH)/.test(line));
    expect(seeks, plan.join("\n")).toEqual([`SEARCH stats_rollups USING INDEX ${ROLLUPS_SEEK}`, `SEARCH stats_rollups USING INDEX ${ROLLUPS_SEEK}`]);
  });

  it("the check itself fails on a full scan and on a sort", () => {
    expect(fullScansAndSorts(["SCAN events"])).toHaveLength(1);
    expect(fullScansAndSorts(["SCAN attempts USING INDEX sqlite_autoindex_attempts_1"])).toEqual([]);
    expect(fullScansAndSorts(["SCAN sent", "SCAN CONSTANT ROW"])).toEqual([]);
    expect(fullScansAndSorts(["USE TEMP B-TREE FOR ORDER BY"])).toHaveLength(1);
    expect(fullScansAndSorts(["USE TEMP B-TREE FOR RIGHT PART OF ORDER BY"])).toHaveLength(1);
  });
});
