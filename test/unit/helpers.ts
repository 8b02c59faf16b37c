/**
 * Test helpers: call the real Worker in-process, create isolated projects, stand in for receivers
 * by answering the consumer's outbound fetches, and read D1 directly to check what was (not) written.
 */
import { env, exports } from "cloudflare:workers";
import { eq } from "drizzle-orm";
import { expect, vi } from "vitest";
import { database } from "../../workers/db/client";
import { newId } from "../../workers/db/ids";
import { deliveries, endpoints, events, projects, type Delivery, type Endpoint, type Event, type Project } from "../../workers/db/schema";

export const ADMIN_TOKEN = "test-admin-token";
export const BASE = "http://ferry.test";

export type ApiResponse<T = any> = { status: number; headers: Headers; body: T };

export async function api<T = any>(method: string, path: string, options: { token?: string; body?: unknown; raw?: string; headers?: Record<string, string> } = {}): Promise<ApiResponse<T>> {
  const headers: Record<string, string> = { ...options.headers };
  if (options.token) headers.authorization = `Bearer ${options.token}`;
  if (options.body !== undefined || options.raw !== undefined) headers["content-type"] ??= "application/json";
  const response = await exports.default.fetch(new Request(BASE + path, { method, headers, body: options.raw ?? (options.body === undefined ? undefined : JSON.stringify(options.body)) }));
  const text = await response.text();
  let body: any = text;
  try {
    body = text ? JSON.parse(text) : null;
  } catch {}
  return { status: response.status, headers: response.headers, body };
}

/** `api` bound to one token, paths relative to /api/v1. */
export function client(token: string, headers: Record<string, string> = {}) {
  return <T = any>(method: string, path: string, body?: unknown, extra: { raw?: string; headers?: Record<string, string> } = {}) =>
    api<T>(method, `/api/v1${path}`, { token, body, raw: extra.raw, headers: { ...headers, ...extra.headers } });
}

export async function createProject(name = "acme"): Promise<{ id: string; apiKey: string }> {
  const created = await api("POST", "/api/v1/projects", { token: ADMIN_TOKEN, body: { name } });
  if (created.status !== 201) throw new Error(`project not created: ${JSON.stringify(created.body)}`);
  return created.body;
}

export async function createEndpoint(apiKey: string, body: Record<string, unknown>) {
  const created = await api("POST", "/api/v1/endpoints", { token: apiKey, body });
  if (created.status !== 201) throw new Error(`endpoint not created: ${JSON.stringify(created.body)}`);
  return created.body as { id: string; secret: string; url: string };
}

export async function sendEvent(apiKey: string, body: Record<string, unknown>, headers: Record<string, string> = {}) {
  const sent = await api("POST", "/api/v1/events", { token: apiKey, body, headers });
  if (sent.status !== 202) throw new Error(`event not accepted: ${sent.status} ${JSON.stringify(sent.body)}`);
  return sent.body as { id: string; eventType: string; createdAt: string; deliveries: { id: string; endpointId: string; status: string }[] };
}

/** A problem+json error with this status: the RFC 9457 members are there and the body says the same status. */
export function expectProblem(response: ApiResponse, status: number) {
  expect(response.status, JSON.stringify(response.body)).toBe(status);
  expect(response.headers.get("content-type")).toMatch(/^application\/problem\+json/);
  expect(response.body).toMatchObject({ type: expect.any(String), title: expect.any(String), status, detail: expect.any(String) });
  return response.body as { type: string; title: string; status: number; detail: string; errors?: { path: string; message: string }[] };
}

/** Row counts of the tables a rejected request must not touch. */
export async function rowCounts(): Promise<Record<"projects" | "api_keys" | "endpoints" | "events" | "deliveries", number>> {
  const tables = ["projects", "api_keys", "endpoints", "events", "deliveries"] as const;
  const results = await env.DB.batch(tables.map((table) => env.DB.prepare(`select count(*) as n from ${table}`)));
  return Object.fromEntries(tables.map((table, i) => [table, (results[i].results[0] as { n: number }).n])) as any;
}

export async function deliveryRow(id: string): Promise<Delivery> {
  const row = await database(env).select().from(deliveries).where(eq(deliveries.id, id)).get();
  if (!row) throw new Error(`no delivery ${id}`);
  return row;
}

/**
 * Writes a project, an endpoint, an event and a delivery straight into D1, with no queue message:
 * the state a lost message or a crashed sender leaves behind.
 */
export async function seedDelivery(options: { url: string; delivery?: Partial<Delivery>; endpoint?: Partial<Endpoint>; project?: Partial<Project> }) {
  const db = database(env);
  const now = new Date();
  const project: Project = {
    id: newId("project"),
    name: "seeded",
    alertEmails: [],
    retrySchedule: null,
    circuitOpenAfter: 5,
    disableAfter: 20,
    disableAfterSeconds: 3600,
    metaEndpointUrl: null,
    metaEndpointSecret: null,
    createdAt: now,
    updatedAt: now,
    ...options.project,
  } as Project;
  const endpoint = {
    id: newId("endpoint"),
    projectId: project.id,
    url: options.url,
    description: "",
    eventTypes: [],
    headers: {},
    timeoutMs: 5000,
    rateLimitPerSecond: null,
    secrets: [{ value: "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", createdAt: now.getTime(), expiresAt: null }],
    status: "active",
    disabledReason: null,
    disabledAt: null,
    deletedAt: null,
    createdAt: now,
    updatedAt: now,
    ...options.endpoint,
  } as Endpoint;
  const event: Event = {
    id: newId("event"),
    projectId: project.id,
    eventType: "seed.created",
    applicationId: null,
    body: JSON.stringify({ type: "seed.created", timestamp: now.toISOString(), data: { seeded: true } }),
    bodyFormat: "envelope",
    idempotencyKey: null,
    createdAt: now,
  };
  const delivery: Delivery = {
    id: newId("delivery"),
    projectId: project.id,
    eventId: event.id,
    endpointId: endpoint.id,
    eventType: event.eventType,
    applicationId: null,
    status: "queued",
    attemptCount: 0,
    scheduleStep: 0,
    nextTrigger: "scheduled",
    nextAttemptAt: now,
    leaseUntil: null,
    enqueuedAt: now,
    heldAt: null,
    lastStatusCode: null,
    lastError: null,
    lastAttemptAt: null,
    createdAt: now,
    updatedAt: now,
    ...options.delivery,
  };
  await db.batch([db.insert(projects).values(project), db.insert(endpoints).values(endpoint), db.insert(events).values(event), db.insert(deliveries).values(delivery)]);
  return { project, endpoint, event, delivery };
}

/** `count` deliveries of one seeded event to one endpoint: the first as `seedDelivery` makes it, the rest copies of it. */
export async function seedDeliveries(count: number, options: Parameters<typeof seedDelivery>[0]) {
  const seeded = await seedDelivery(options);
  const ids = [seeded.delivery.id];
  for (let i = 1; i < count; i++) {
    const id = newId("delivery");
    await database(env).insert(deliveries).values({ ...seeded.delivery, id });
    ids.push(id);
  }
  return { ...seeded, ids };
}

export type ReceivedRequest = { url: string; method: string; redirect: string; headers: Record<string, string>; body: string; at: number };
type Responder = (request: ReceivedRequest, count: number) => Response | Promise<Response>;

/**
 * Answers the consumer's outbound requests by URL prefix (unknown URLs get a 404). Bodies are read inside the mock: a Request
 * from the consumer's context cannot be read later from the test's.
 */
export function fakeReceivers() {
  const routes = new Map<string, Responder>();
  const received: ReceivedRequest[] = [];
  const spy = vi.spyOn(globalThis, "fetch").mockImplementation(async (input, init) => {
    const request = new Request(input as RequestInfo, init as RequestInit);
    const entry: ReceivedRequest = {
      url: request.url,
      method: request.method,
      redirect: request.redirect,
      headers: Object.fromEntries(request.headers),
      body: await request.text(),
      at: Date.now(),
    };
    received.push(entry);
    // The longest matching prefix wins, so a catch-all ("https://") can sit beside specific receivers.
    const route = [...routes.keys()].filter((prefix) => request.url.startsWith(prefix)).sort((a, b) => b.length - a.length)[0];
    if (!route) return new Response("no receiver", { status: 404 });
    return routes.get(route)!(entry, received.filter((r) => r.url.startsWith(route)).length);
  });
  return {
    on(prefix: string, responder: Responder) {
      routes.set(prefix, responder);
    },
    requests: (prefix: string) => received.filter((r) => r.url.startsWith(prefix)),
    restore: () => spy.mockRestore(),
  };
}

/** Polls until `check` returns a truthy value; the consumer runs in the background, once its batch is handed out. */
export async function eventually<T>(check: () => Promise<T | undefined | null | false>, timeoutMs = 8000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      const value = await check();
      if (value) return value;
    } catch (error) {
      last = error;
    }
    await sleep(50);
  }
  throw new Error(`condition not met within ${timeoutMs} ms${last ? `: ${last}` : ""}`);
}

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export { env };

/**
 * A fake network with a production invocation's connection limit: at most six requests wait for response
 * headers at once; the rest queue in order with their abort signals already running, as they would in the
 * runtime. URLs that `hangs` picks never answer (only their signal ends them); any other answers 200 at once.
 */
export function sixConnectionNetwork(hangs: (url: string) => boolean) {
  const LIMIT = 6;
  const queue: { admit: () => void; cancelled: boolean }[] = [];
  const stats = { open: 0, mostOpen: 0, queued: 0, timedOutInQueue: 0, sent: [] as string[] };
  const connect = () => {
    stats.open += 1;
    stats.mostOpen = Math.max(stats.mostOpen, stats.open);
  };
  const spy = vi.spyOn(globalThis, "fetch").mockImplementation(async (input, init) => {
    const url = input instanceof Request ? input.url : String(input);
    const signal = init?.signal ?? undefined;
    const aborted = new Promise<never>((_, reject) => {
      if (signal?.aborted) reject(signal.reason);
      signal?.addEventListener("abort", () => reject(signal.reason));
    });
    aborted.catch(() => {});
    if (stats.open < LIMIT) connect();
    else {
      stats.queued += 1;
      const entry = { admit: () => {}, cancelled: false };
      const admitted = new Promise<void>((resolve) => (entry.admit = () => (connect(), resolve())));
      queue.push(entry);
      try {
        await Promise.race([admitted, aborted]);
      } catch (error) {
        entry.cancelled = true;
        stats.timedOutInQueue += 1;
        throw error;
      }
    }
    try {
      stats.sent.push(url);
      if (hangs(url)) await aborted;
      return new Response("ok");
    } finally {
      stats.open -= 1;
      let next = queue.shift();
      while (next?.cancelled) next = queue.shift();
      next?.admit();
    }
  });
  return { stats, restore: () => spy.mockRestore() };
}

/** Runs the Worker's real queue handler on one batch carrying these delivery ids, to its end. */
export async function runConsumer(deliveryIds: string[]): Promise<void> {
  const { createExecutionContext, createMessageBatch } = await import("cloudflare:test");
  const { default: worker } = await import("../../workers/index");
  const batch = createMessageBatch(
    "ferry-deliveries",
    deliveryIds.map((deliveryId, i) => ({ id: `run-${Date.now()}-${i}`, timestamp: new Date(), attempts: 1, body: { deliveryId } })),
  );
  await worker.queue(batch as never, env, createExecutionContext());
}
