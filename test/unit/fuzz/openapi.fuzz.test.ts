/**
 * Property-based fuzzing of every operation in the served OpenAPI document (GET /api/v1/openapi.json), in
 * workerd against the real app and D1. Requests are faithful to the schemas or poisoned anywhere (wrong types,
 * huge and unicode strings, deep nesting, bad dates and cursors, injection strings, CRLF, unknown fields),
 * with raw and malformed bodies, wrong content types, and own, foreign, admin, revoked, garbage or no auth.
 * Properties: never a 5xx; every error is application/problem+json with the status in its body; a rejected
 * request leaves the database exactly as it was (row counts and a SHA-256 of every row).
 *
 * Seeded: `FUZZ_SEED` (default fixed, so CI is deterministic), `FUZZ_RUNS` per operation (default 20),
 * `FUZZ_ONLY="POST /events"` to run one operation; a failure prints the seed and path that replay it.
 */
import { env, exports } from "cloudflare:workers";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ADMIN_TOKEN, BASE, createEndpoint, createProject, fakeReceivers, sendEvent, sleep } from "../helpers";
import { changedTables, snapshotDb } from "./db-snapshot";
import { CONTENT_TYPES, RAW_BODIES, fromSchema, hostileString, type Schema } from "./hostile";

const SEED = Number(env.FUZZ_SEED || 20261201);
const RUNS = Number(env.FUZZ_RUNS || 20);
const ONLY = env.FUZZ_ONLY || "";
const API = "/api/v1";

const doc = await (await exports.default.fetch(`${BASE}${API}/openapi.json`)).json<{ paths: Record<string, Record<string, Operation>>; components: { schemas: Record<string, Schema> } }>();
type Operation = { parameters?: { in: string; name: string; schema: Schema; required?: boolean }[]; requestBody?: { content: Record<string, { schema: Schema }> } };
const operations = Object.entries(doc.paths).flatMap(([path, ops]) => Object.entries(ops).map(([method, op]) => ({ name: `${method.toUpperCase()} ${path}`, method: method.toUpperCase(), path, op })));

type Fixture = { own: { id: string; apiKey: string }; foreign: { id: string; apiKey: string }; revokedKey: string; ids: string[]; foreignIds: string[] };
let fixture: Fixture;
let receivers: ReturnType<typeof fakeReceivers>;

beforeAll(async () => {
  receivers = fakeReceivers();
  receivers.on("http", () => new Response("ok"));
  const own = await createProject("fuzz-own");
  const foreign = await createProject("fuzz-foreign");
  const ids: string[] = [];
  const foreignIds: string[] = [];
  for (const [project, list] of [[own, ids], [foreign, foreignIds]] as const) {
    const endpoint = await createEndpoint(project.apiKey, { url: "https://hooks.example.com/fuzz" });
    const event = await sendEvent(project.apiKey, { eventType: "order.created", payload: { n: 1 }, idempotencyKey: `seed-${project.id}` });
    list.push(endpoint.id, event.id, event.deliveries[0].id);
  }
  const key = await fetchJson("POST", "/api-keys", own.apiKey, { name: "to revoke" });
  await fetchJson("DELETE", `/api-keys/${key.id}`, own.apiKey);
  ids.push(key.id, own.id);
  fixture = { own, foreign, revokedKey: key.apiKey, ids, foreignIds: [...foreignIds, foreign.id] };
  await settle();
});
afterAll(() => receivers.restore());

async function fetchJson(method: string, path: string, token: string, body?: unknown) {
  const response = await exports.default.fetch(`${BASE}${API}${path}`, { method, headers: { authorization: `Bearer ${token}`, "content-type": "application/json" }, body: body === undefined ? undefined : JSON.stringify(body) });
  return response.json<any>().catch(() => null);
}

/** Waits until the consumer, DO alarms and the alert outbox have finished what a successful write started. */
async function settle() {
  const deadline = Date.now() + 10_000;
  let previous = "";
  while (Date.now() < deadline) {
    const busy = await env.DB.prepare(
      "select (select count(*) from deliveries where status in ('queued', 'sending') or (status = 'retrying' and next_attempt_at < ?1)) + (select count(*) from alerts where status in ('pending', 'sending') and next_attempt_at < ?1) + (select count(*) from jobs where status = 'running') as n",
    )
      .bind(Date.now() + 30_000)
      .first<{ n: number }>();
    const current = JSON.stringify(await snapshotDb());
    if (busy?.n === 0 && current === previous) return;
    previous = current;
    await sleep(150);
  }
}

const AUTH = ["own", "own", "own", "admin-as-own", "foreign", "admin-as-foreign", "admin", "none", "garbage", "revoked", "basic", "empty-bearer", "crlf"] as const;

function authHeaders(kind: (typeof AUTH)[number], f: Fixture): Record<string, string> {
  switch (kind) {
    case "own": return { authorization: `Bearer ${f.own.apiKey}` };
    case "admin-as-own": return { authorization: `Bearer ${ADMIN_TOKEN}`, "ferry-project": f.own.id };
    case "foreign": return { authorization: `Bearer ${f.foreign.apiKey}` };
    case "admin-as-foreign": return { authorization: `Bearer ${ADMIN_TOKEN}`, "ferry-project": f.foreign.id };
    case "admin": return { authorization: `Bearer ${ADMIN_TOKEN}` };
    case "none": return {};
    case "garbage": return { authorization: "Bearer fk_live_notarealkey" };
    case "revoked": return { authorization: `Bearer ${f.revokedKey}` };
    case "basic": return { authorization: "Basic YWRtaW46YWRtaW4=" };
    case "empty-bearer": return { authorization: "Bearer " };
    case "crlf": return { authorization: `Bearer ${f.own.apiKey}\r\nX-Injected: 1` };
  }
}

function requestArbitrary(operation: (typeof operations)[number]) {
  const { op, method } = operation;
  const params = op.parameters ?? [];
  const bodySchema = op.requestBody?.content["application/json"]?.schema;
  const pathId = fc.oneof(
    { weight: 3, arbitrary: fc.constantFrom("own", "foreign").chain((who) => fc.constantFrom(...(who === "own" ? fixture.ids : fixture.foreignIds))).map(encodeURIComponent) },
    { weight: 2, arbitrary: hostileString.map((s) => encodeURIComponent(wellFormed(s.slice(0, 2000)))) },
    { weight: 1, arbitrary: fc.constantFrom("%ZZ", "%", "..", "%2e%2e", "%00", "a%2Fb", "%ED%A0%80", "%C0%AF", "evt_01J0000000000000000000000", "") },
  );
  const queryValue = (schema: Schema, name: string) =>
    fc.oneof(
      { weight: 3, arbitrary: fromSchema(doc, schema, false, name).map(String) },
      { weight: 2, arbitrary: hostileString.map((s) => s.slice(0, 5000)) },
      { weight: 1, arbitrary: fc.constantFrom(...fixture.ids, ...fixture.foreignIds) },
    );
  const query = fc.record(
    Object.fromEntries([...params.filter((p) => p.in === "query").map((p) => [p.name, queryValue(p.schema, p.name)]), ["unknownParam", fc.constant("1")]]),
    { requiredKeys: [] },
  );
  const rawQuery = fc.oneof({ weight: 6, arbitrary: fc.constant("") }, { weight: 1, arbitrary: fc.constantFrom("&limit=%ZZ", "&cursor=%", "&limit=1&limit=2", "&since[]=x", "&=") });
  const body = bodySchema
    ? fc.oneof(
        { weight: 3, arbitrary: fromSchema(doc, bodySchema, false).map((value) => ({ kind: "json" as const, value })) },
        { weight: 4, arbitrary: fromSchema(doc, bodySchema, true).map((value) => ({ kind: "json" as const, value })) },
        { weight: 2, arbitrary: fc.constantFrom(...RAW_BODIES).map((text) => ({ kind: "raw" as const, text })) },
        { weight: 1, arbitrary: fc.constant({ kind: "none" as const }) },
      )
    : fc.oneof({ weight: 5, arbitrary: fc.constant({ kind: "none" as const }) }, { weight: 1, arbitrary: fc.jsonValue({ maxDepth: 2 }).map((value) => ({ kind: "json" as const, value })) });
  const idempotencyHeader = params.some((p) => p.in === "header") ? fc.option(hostileString.map((s) => s.slice(0, 1000).replace(/[^\x00-\xff]/g, "?")), { nil: undefined }) : fc.constant(undefined);
  return fc.record({
    auth: fc.constantFrom(...AUTH),
    ids: fc.array(pathId, { minLength: 2, maxLength: 2 }),
    query,
    rawQuery,
    body,
    contentType: fc.constantFrom(...CONTENT_TYPES),
    idempotencyKey: idempotencyHeader,
    method: fc.constant(method),
  });
}

type FuzzRequest = ReturnType<typeof requestArbitrary> extends fc.Arbitrary<infer T> ? T : never;

function buildRequest(operation: (typeof operations)[number], input: FuzzRequest): Request | null {
  let index = 0;
  const path = operation.path.replace(/\{[^}]+\}/g, () => input.ids[index++] ?? "x");
  const search = new URLSearchParams(Object.entries(input.query).map(([k, v]) => [k, String(v)])).toString();
  const url = `${BASE}${API}${path}?${search}${input.rawQuery}`;
  const headers: Record<string, string> = { ...authHeaders(input.auth, fixture) };
  let body: string | undefined;
  if (input.body.kind !== "none") {
    body = input.body.kind === "raw" ? input.body.text : JSON.stringify(input.body.value);
    if (input.contentType) headers["content-type"] = input.contentType;
  }
  if (input.idempotencyKey !== undefined) headers["idempotency-key"] = input.idempotencyKey;
  try {
    return new Request(url, { method: input.method, headers, body });
  } catch {
    // Not representable on the wire (a CR/LF or non-Latin-1 header value, a body on GET): fetch refuses it.
    return null;
  }
}

const shouldRun = (name: string) => !ONLY || ONLY === name;
let requestsSent = 0;
let serverErrors = 0;

describe("OpenAPI-driven fuzzing", () => {
  it("the served document lists the operations this fuzzer covers", () => {
    expect(operations.length).toBeGreaterThanOrEqual(28);
  });

  for (const operation of operations) {
    it.runIf(shouldRun(operation.name))(`${operation.name}: no 5xx, errors are problem+json, a rejected request writes nothing`, { timeout: 180_000 }, async () => {
      const seed = (SEED ^ hash(operation.name)) >>> 0;
      await fc.assert(
        fc.asyncProperty(requestArbitrary(operation), async (input) => {
          const request = buildRequest(operation, input);
          fc.pre(request !== null);
          const before = await snapshotDb();
          const response = await exports.default.fetch(request!);
          const text = await response.text();
          requestsSent++;
          const where = `${request!.method} ${request!.url.slice(0, 300)} → ${response.status} ${text.slice(0, 300)}`;
          if (response.status >= 500) serverErrors++;
          expect(response.status, where).toBeLessThan(500);
          if (response.status >= 400) {
            expect(response.headers.get("content-type"), where).toMatch(/^application\/problem\+json/);
            expect(JSON.parse(text), where).toMatchObject({ type: expect.any(String), title: expect.any(String), status: response.status });
            const after = await snapshotDb();
            expect(changedTables(before, after), `${where}: a rejected request changed the database`).toEqual([]);
            expect(after.counts, where).toEqual(before.counts);
          } else if (request!.method !== "GET") {
            await settle();
          }
        }),
        { seed, numRuns: RUNS, endOnFailure: true, verbose: 0 },
      );
    });
  }

  afterAll(() => console.log(JSON.stringify({ msg: "fuzz summary", seed: SEED, runsPerOperation: RUNS, requestsSent, serverErrors })));
});

function hash(text: string): number {
  let h = 2166136261;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 16777619);
  return h;
}

/** encodeURIComponent throws on a lone surrogate; the raw bytes of one are among the fixed ids instead. */
function wellFormed(text: string): string {
  return text.replace(/[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g, "\uFFFD");
}
