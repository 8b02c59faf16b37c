import { runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { eq } from "drizzle-orm";
import { afterEach, describe, expect, it, vi } from "vitest";
import { processAlerts } from "../../../workers/alerts/outbox";
import { database } from "../../../workers/db/client";
import { newId } from "../../../workers/db/ids";
import { alerts, deliveries, endpoints, events } from "../../../workers/db/schema";
import { healthStub } from "../../../workers/endpoint-health/client";
import { EndpointHealth } from "../../../workers/endpoint-health-object";
import type { Outcome } from "../../../workers/endpoint-health/policy";
import { api, createEndpoint, createProject, env, eventually } from "../helpers";

const policy = { circuitOpenAfter: 2, disableAfter: 3, disableAfterSeconds: 0 };
const failure = (extra: Partial<Outcome> = {}): Outcome => ({ ok: false, statusCode: 500, error: "HTTP 500", responseExcerpt: "db down", gone: false, at: Date.now(), durationMs: 20, ...extra });

/** A project with alert emails, an endpoint, and `pending` deliveries to it that are waiting for a retry. */
async function seed(pending = 2) {
  const project = await createProject("health");
  await api("PATCH", "/api/v1/project", { token: project.apiKey, body: { alertEmails: ["oncall@example.com"] } });
  const endpoint = await createEndpoint(project.apiKey, { url: "https://down.example.com/hook" });
  const db = database(env);
  const now = new Date();
  const eventId = newId("event");
  await db.insert(events).values({ id: eventId, projectId: project.id, eventType: "a.b", body: "{}", idempotencyKey: null, createdAt: now });
  for (let i = 0; i < pending; i++) {
    await db.insert(deliveries).values({
      id: newId("delivery"), projectId: project.id, eventId, endpointId: endpoint.id, eventType: "a.b", status: "retrying",
      attemptCount: 1, scheduleStep: 1, nextAttemptAt: new Date(now.getTime() + 3_600_000), enqueuedAt: now, createdAt: now, updatedAt: now,
    });
  }
  return { project, endpoint, db };
}

const alertsOf = (db: ReturnType<typeof database>, endpointId: string) => db.select().from(alerts).where(eq(alerts.endpointId, endpointId)).all();

afterEach(() => vi.restoreAllMocks());

describe("EndpointHealth", () => {
  it("opens the circuit at circuitOpenAfter, writes one warning, and holds sends back without using an attempt", async () => {
    const { endpoint, db } = await seed(0);
    const health = healthStub(env, endpoint.id);
    await health.recordOutcomes(endpoint.id, [failure()], policy);
    expect((await health.admit({ endpointId: endpoint.id, deliveryIds: ["dlv_x"], rateLimitPerSecond: null }))[0].allow).toBe(true);
    const snapshot = await health.recordOutcomes(endpoint.id, [failure()], { ...policy, disableAfter: 100 });
    expect(snapshot).toMatchObject({ circuitState: "open", consecutiveFailures: 2, lastStatusCode: 500, lastError: "HTTP 500" });
    expect(snapshot.circuitReopensAt).not.toBeNull();
    const [permit] = await health.admit({ endpointId: endpoint.id, deliveryIds: ["dlv_x"], rateLimitPerSecond: null });
    expect(permit).toMatchObject({ allow: false, reason: "circuit_open" });
    const warnings = await alertsOf(db, endpoint.id);
    expect(warnings.map((a) => a.kind)).toEqual(["endpoint.circuit_opened"]);
    expect(warnings[0].text).toContain("2 consecutive failed attempts");
  });

  it("disables after the threshold: the endpoint flips in D1, its deliveries pause, and exactly one alert is written however often it is retried", async () => {
    const { endpoint, db } = await seed(2);
    const health = healthStub(env, endpoint.id);
    for (let i = 0; i < 5; i++) await health.recordOutcomes(endpoint.id, [failure()], policy);

    const row = await db.select().from(endpoints).where(eq(endpoints.id, endpoint.id)).get();
    expect(row).toMatchObject({ status: "disabled" });
    expect(row!.disabledReason).toMatch(/3 consecutive failed attempts/);
    const statuses = await db.select({ status: deliveries.status }).from(deliveries).where(eq(deliveries.endpointId, endpoint.id)).all();
    expect(statuses.map((s) => s.status)).toEqual(["paused", "paused"]);

    const disabledAlerts = (await alertsOf(db, endpoint.id)).filter((a) => a.kind === "endpoint.disabled");
    expect(disabledAlerts).toHaveLength(1);
    const [alert] = disabledAlerts;
    expect(alert.recipients).toEqual(["oncall@example.com"]);
    expect(alert.subject).toBe(`[Ferry] Endpoint disabled: ${endpoint.url}`);
    for (const fact of [endpoint.id, endpoint.url, "Deliveries waiting: 2", "Last status code: 500", "db down", `/endpoints/${endpoint.id}/enable`]) {
      expect(alert.text).toContain(fact);
    }
  });

  it("disables at once on 410 Gone", async () => {
    const { endpoint, db } = await seed(1);
    await healthStub(env, endpoint.id).recordOutcomes(endpoint.id, [failure({ statusCode: 410, gone: true, error: "HTTP 410" })], { ...policy, disableAfter: 100 });
    const row = await db.select().from(endpoints).where(eq(endpoints.id, endpoint.id)).get();
    expect(row).toMatchObject({ status: "disabled" });
    expect(row!.disabledReason).toMatch(/410 Gone/);
  });

  it("enforces the rate limit with a token bucket", async () => {
    const { endpoint } = await seed(0);
    const health = healthStub(env, endpoint.id);
    const permits = [];
    for (let i = 0; i < 5; i++) permits.push((await health.admit({ endpointId: endpoint.id, deliveryIds: [`dlv_${i}`], rateLimitPerSecond: 2 }))[0]);
    expect(permits.filter((p) => p.allow)).toHaveLength(2);
    expect(permits.slice(2).every((p) => !p.allow && p.reason === "rate_limited" && p.retryAt > Date.now())).toBe(true);
  });

  it("keeps its state when the object restarts", async () => {
    const { endpoint } = await seed(0);
    const stub = healthStub(env, endpoint.id);
    await stub.recordOutcomes(endpoint.id, [failure()], { ...policy, circuitOpenAfter: 1, disableAfter: 100 });
    const before = await stub.snapshot();
    const after = await runInDurableObject(stub, (_instance: EndpointHealth, state) => new EndpointHealth(state, env).snapshot());
    expect(after).toEqual(before);
    expect(after).toMatchObject({ circuitState: "open", consecutiveFailures: 1 });
  });

  it("reset (on enable) closes the circuit and clears the streak", async () => {
    const { endpoint } = await seed(0);
    const stub = healthStub(env, endpoint.id);
    await stub.recordOutcomes(endpoint.id, [failure()], { ...policy, circuitOpenAfter: 1, disableAfter: 100 });
    await stub.reset();
    expect(await stub.snapshot()).toMatchObject({ circuitState: "closed", consecutiveFailures: 0, failingSince: null });
    expect((await stub.admit({ endpointId: endpoint.id, deliveryIds: ["dlv_x"], rateLimitPerSecond: null }))[0].allow).toBe(true);
  });
});

describe("alert outbox", () => {
  it("the DO's alarm works the outbox by itself; with no MailChannels key the alert is recorded as skipped, with the reason", async () => {
    const { endpoint, db } = await seed(0);
    const stub = healthStub(env, endpoint.id);
    await stub.recordOutcomes(endpoint.id, [failure({ gone: true, statusCode: 410 })], policy);
    // The alarm was set for "now"; whether it already ran or runs here, it must leave nothing pending.
    await runDurableObjectAlarm(stub);
    const alert = await eventually(async () => (await alertsOf(db, endpoint.id)).find((a) => a.kind === "endpoint.disabled" && a.status !== "pending" && a.status !== "sending"));
    expect(alert).toMatchObject({ status: "skipped", attempts: 1 });
    expect(alert.lastError).toMatch(/MAILCHANNELS_API_KEY is not configured/);
  });

  it("retries a MailChannels 5xx later and marks the alert sent once it is accepted", async () => {
    const { endpoint, db } = await seed(0);
    await healthStub(env, endpoint.id).recordOutcomes(endpoint.id, [failure({ gone: true, statusCode: 410 })], policy);
    const requests: { headers: Headers; body: any }[] = [];
    vi.spyOn(globalThis, "fetch").mockImplementation(async (input, init) => {
      const request = new Request(input as RequestInfo, init as RequestInit);
      requests.push({ headers: request.headers, body: await request.json() });
      return new Response(requests.length === 1 ? "overloaded" : "", { status: requests.length === 1 ? 503 : 202 });
    });
    const mailEnv = { ...env, MAILCHANNELS_API_KEY: "mc-key", MAILCHANNELS_API_URL: "https://mail.test/tx/v1/send" };

    const now = Date.now();
    const { nextDue } = await processAlerts(mailEnv, { endpointId: endpoint.id }, now);
    let [alert] = await alertsOf(db, endpoint.id);
    expect(alert).toMatchObject({ status: "pending", attempts: 1 });
    expect(alert.lastError).toMatch(/503/);
    expect(nextDue).toBe(now + 30_000);

    await processAlerts(mailEnv, { endpointId: endpoint.id }, now + 30_000);
    [alert] = await alertsOf(db, endpoint.id);
    expect(alert).toMatchObject({ status: "sent", attempts: 2 });
    expect(requests).toHaveLength(2);
    expect(requests[1].headers.get("x-api-key")).toBe("mc-key");
    expect(requests[1].body).toMatchObject({
      personalizations: [{ to: [{ email: "oncall@example.com" }] }],
      from: { email: env.ALERT_FROM_EMAIL },
      subject: `[Ferry] Endpoint disabled: ${endpoint.url}`,
      content: [{ type: "text/plain" }, { type: "text/html" }],
    });
    // Sent alerts are not sent again.
    await processAlerts(mailEnv, { endpointId: endpoint.id }, now + 3_600_000);
    expect(requests).toHaveLength(2);
  });

  it("escapes user content in the HTML email", async () => {
    const { endpoint, db } = await seed(0);
    await healthStub(env, endpoint.id).recordOutcomes(endpoint.id, [failure({ gone: true, statusCode: 410, responseExcerpt: "<script>alert(1)</script>" })], policy);
    const [alert] = await alertsOf(db, endpoint.id);
    expect(alert.html).not.toContain("<script>");
    expect(alert.html).toContain("&lt;script&gt;alert(1)&lt;/script&gt;");
  });
});

/** The D1 binding with some statements failing: `fails(sql)` decides, and `batches` records each batch's SQL. */
function flakyDb(fails: (sql: string) => boolean) {
  const batches: string[][] = [];
  const sqlOf = new WeakMap<object, string>();
  const db = new Proxy(env.DB, {
    get(target, prop) {
      if (prop === "prepare") {
        return (sql: string) => {
          if (fails(sql)) throw new Error(`D1 unavailable (test): ${sql.slice(0, 40)}`);
          const statement = target.prepare(sql);
          const bind = statement.bind.bind(statement);
          statement.bind = (...values: unknown[]) => {
            const bound = bind(...values);
            sqlOf.set(bound, sql);
            return bound;
          };
          sqlOf.set(statement, sql);
          return statement;
        };
      }
      if (prop === "batch") {
        return (statements: D1PreparedStatement[]) => {
          batches.push(statements.map((s) => sqlOf.get(s) ?? "?"));
          return target.batch(statements);
        };
      }
      const value = Reflect.get(target, prop);
      return typeof value === "function" ? value.bind(target) : value;
    },
  });
  return { db, batches };
}

describe("disabling, durably", () => {
  it("saves the decision before acting: D1 down at the decision leaves nothing half-done, and the alarm of a fresh instance finishes it", async () => {
    const { endpoint, db } = await seed(2);
    const stub = healthStub(env, endpoint.id);
    const down = flakyDb(() => true);
    await runInDurableObject(stub, async (_instance: EndpointHealth, state) => {
      await new EndpointHealth(state, { ...env, DB: down.db }).recordOutcomes(endpoint.id, [failure({ gone: true, statusCode: 410 })], policy);
      expect(await state.storage.getAlarm()).not.toBeNull();
    });
    expect(await db.select().from(endpoints).where(eq(endpoints.id, endpoint.id)).get()).toMatchObject({ status: "active" });
    expect(await alertsOf(db, endpoint.id)).toEqual([]);

    // Evicted: a new instance knows only what storage kept, and its alarm does the rest.
    await runInDurableObject(stub, (_instance: EndpointHealth, state) => new EndpointHealth(state, env).alarm());
    const row = await db.select().from(endpoints).where(eq(endpoints.id, endpoint.id)).get();
    expect(row).toMatchObject({ status: "disabled" });
    expect(row!.disabledReason).toMatch(/410 Gone/);
    const statuses = await db.select({ status: deliveries.status }).from(deliveries).where(eq(deliveries.endpointId, endpoint.id)).all();
    expect(statuses.map((s) => s.status)).toEqual(["paused", "paused"]);
    const disabledAlerts = (await alertsOf(db, endpoint.id)).filter((a) => a.kind === "endpoint.disabled");
    expect(disabledAlerts).toHaveLength(1);
    expect(disabledAlerts[0].dedupeKey).toBe(`endpoint.disabled:${endpoint.id}:${row!.disabledAt!.getTime()}`);
  });

  it("flips the endpoint, pauses the first chunk of its deliveries and writes the alert in one D1 batch", async () => {
    const { endpoint } = await seed(2);
    const recorded = flakyDb(() => false);
    await runInDurableObject(healthStub(env, endpoint.id), (_instance: EndpointHealth, state) =>
      new EndpointHealth(state, { ...env, DB: recorded.db }).recordOutcomes(endpoint.id, [failure({ gone: true, statusCode: 410 })], policy),
    );
    const flip = recorded.batches.filter((batch) => batch.some((sql) => sql.startsWith('update "endpoints"')));
    expect(flip).toHaveLength(1);
    expect(flip[0].map((sql) => sql.split(" ").slice(0, 3).join(" "))).toEqual(['update "endpoints" set', 'update "deliveries" set', 'insert into "alerts"']);
    expect(flip[0][1]).toMatch(/limit \?/);
  });
});

describe("alert emails, at most once", () => {
  const mailEnv = (DB: D1Database = env.DB) => ({ ...env, DB, MAILCHANNELS_API_KEY: "mc-key", MAILCHANNELS_API_URL: "https://mail.test/tx/v1/send" });
  const recordingSent = (sql: string) => /^update "alerts" set .*"sent_at" = \?/.test(sql);

  it("a 2xx whose recording fails is never sent again: the lapsed lease means outcome unknown", async () => {
    const { endpoint, db } = await seed(0);
    await healthStub(env, endpoint.id).recordOutcomes(endpoint.id, [failure({ gone: true, statusCode: 410 })], policy);
    const mail = vi.spyOn(globalThis, "fetch").mockImplementation(async () => new Response("", { status: 202 }));
    const now = Date.now();
    const { unrecorded } = await processAlerts(mailEnv(flakyDb(recordingSent).db), { endpointId: endpoint.id }, now);
    expect(mail).toHaveBeenCalledTimes(1);
    expect(unrecorded).toHaveLength(1);
    // The cron sweeper comes by after the lease has lapsed.
    await processAlerts(mailEnv(), { endpointId: endpoint.id }, now + 120_000);
    expect(mail).toHaveBeenCalledTimes(1);
    const [alert] = (await alertsOf(db, endpoint.id)).filter((a) => a.kind === "endpoint.disabled");
    expect(alert.status).toBe("unknown");
    expect(alert.lastError).toMatch(/not sent again/);
  });

  it("the DO keeps the sent fact in its storage and records it once D1 answers, without sending again", async () => {
    const { endpoint, db } = await seed(0);
    const stub = healthStub(env, endpoint.id);
    await stub.recordOutcomes(endpoint.id, [failure({ gone: true, statusCode: 410 })], policy);
    const mail = vi.spyOn(globalThis, "fetch").mockImplementation(async () => new Response("", { status: 202 }));
    await runInDurableObject(stub, (_instance: EndpointHealth, state) => new EndpointHealth(state, mailEnv(flakyDb(recordingSent).db)).alarm());
    expect(mail).toHaveBeenCalledTimes(1);
    expect((await alertsOf(db, endpoint.id)).find((a) => a.kind === "endpoint.disabled")?.status).toBe("sending");

    await runInDurableObject(stub, (_instance: EndpointHealth, state) => new EndpointHealth(state, mailEnv()).alarm());
    expect(mail).toHaveBeenCalledTimes(1);
    const alert = (await alertsOf(db, endpoint.id)).find((a) => a.kind === "endpoint.disabled");
    expect(alert).toMatchObject({ status: "sent", attempts: 1 });
  });
});
