import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { api, client, createEndpoint, createProject, eventually, fakeReceivers, rowCounts, sendEvent, sleep } from "../helpers";

// One fake network for the whole file; every test uses its own receiver hosts, so most suites run concurrently.
let receivers: ReturnType<typeof fakeReceivers>;
beforeAll(() => {
  receivers = fakeReceivers();
  // Anything not programmed by a test answers 200, so background deliveries never reach the network.
  receivers.on("https://", () => new Response("ok"));
});
afterAll(() => receivers.restore());

describe.concurrent("POST /events", { timeout: 15_000 }, () => {
  it("fans out to every subscribed endpoint and the consumer delivers each one", async () => {
    receivers.on("https://a.example.com/", () => new Response("ok a"));
    receivers.on("https://b.example.com/", () => new Response("ok b"));
    const project = await createProject();
    const a = await createEndpoint(project.apiKey, { url: "https://a.example.com/hook" });
    const b = await createEndpoint(project.apiKey, { url: "https://b.example.com/hook", eventTypes: ["invoice.*"] });
    await createEndpoint(project.apiKey, { url: "https://c.example.com/hook", eventTypes: ["user.created"] });

    const sent = await api("POST", "/api/v1/events", { token: project.apiKey, body: { eventType: "invoice.paid", payload: { amount: 42 } } });
    expect(sent.status).toBe(202);
    expect(sent.body.deliveries.map((d: any) => d.endpointId).sort()).toEqual([a.id, b.id].sort());

    await eventually(async () => {
      const list = await api("GET", `/api/v1/deliveries?eventId=${sent.body.id}`, { token: project.apiKey });
      return list.body.data.every((d: any) => d.status === "succeeded") && list.body.data.length === 2;
    });
    const [request] = receivers.requests("https://a.example.com/");
    expect(JSON.parse(request.body)).toMatchObject({ type: "invoice.paid", data: { amount: 42 } });
    expect(request.headers["webhook-id"]).toBe(sent.body.id);
    expect(receivers.requests("https://c.example.com/")).toHaveLength(0);
  });

  it("sends {type, timestamp, data} with Ferry's headers and the endpoint's own", async () => {
    const project = await createProject();
    await createEndpoint(project.apiKey, { url: "https://shape.example.com/hook", headers: { "X-Tenant": "t-1" } });
    const sent = await sendEvent(project.apiKey, { eventType: "order.shipped", payload: { id: "o1", items: [1, 2], note: null } });

    const [request] = await eventually(async () => receivers.requests("https://shape.example.com/").length > 0 && receivers.requests("https://shape.example.com/"));
    expect(request.method).toBe("POST");
    expect(JSON.parse(request.body)).toEqual({ type: "order.shipped", timestamp: sent.createdAt, data: { id: "o1", items: [1, 2], note: null } });
    expect(request.headers).toMatchObject({
      "content-type": "application/json",
      "user-agent": expect.stringMatching(/^Ferry\/\d+\.\d+\.\d+/),
      "x-tenant": "t-1",
      "webhook-id": sent.id,
      "webhook-timestamp": expect.stringMatching(/^\d{10}$/),
      "webhook-signature": expect.stringMatching(/^v1,[A-Za-z0-9+/]+=*$/),
    });
  });

  it("GET /events/:id returns the payload and its deliveries", async () => {
    const project = await createProject();
    const endpoint = await createEndpoint(project.apiKey, { url: "https://detail.example.com/hook" });
    const sent = await sendEvent(project.apiKey, { eventType: "a.b", payload: [1, "two", { three: 3 }], idempotencyKey: "detail-1" });
    const event = await client(project.apiKey)("GET", `/events/${sent.id}`);
    expect(event.status).toBe(200);
    expect(event.body).toMatchObject({ id: sent.id, eventType: "a.b", idempotencyKey: "detail-1", createdAt: sent.createdAt, payload: [1, "two", { three: 3 }] });
    expect(event.body.deliveries).toEqual([expect.objectContaining({ id: sent.deliveries[0].id, endpointId: endpoint.id, endpointUrl: "https://detail.example.com/hook" })]);
  });

  it("POST /events/batch accepts several events in one request", async () => {
    const project = await createProject();
    await createEndpoint(project.apiKey, { url: "https://batch.example.com/hook" });
    const response = await client(project.apiKey)("POST", "/events/batch", {
      events: [
        { eventType: "a.one", payload: 1 },
        { eventType: "a.two", payload: { two: true } },
      ],
    });
    expect(response.status).toBe(202);
    expect(response.body.events.map((e: any) => e.eventType)).toEqual(["a.one", "a.two"]);
    expect(response.body.events.every((e: any) => e.deliveries.length === 1)).toBe(true);
  });
});

// Sequential: these compare whole-database row counts.
describe("idempotency", { timeout: 15_000 }, () => {
  it("the same idempotencyKey in the body returns the original event with 200 and creates no deliveries", async () => {
    const project = await createProject();
    await createEndpoint(project.apiKey, { url: "https://idem.example.com/a" });
    await createEndpoint(project.apiKey, { url: "https://idem.example.com/b" });
    const call = client(project.apiKey);
    const first = await call("POST", "/events", { eventType: "idem.test", payload: { n: 1 }, idempotencyKey: "order-17" });
    expect(first.status).toBe(202);
    const counts = await rowCounts();

    const again = await call("POST", "/events", { eventType: "idem.test", payload: { n: 1 }, idempotencyKey: "order-17" });
    expect(again.status).toBe(200);
    expect(again.body).toEqual({ ...first.body, deliveries: expect.any(Array) });
    expect(again.body.deliveries.map((d: any) => d.id).sort()).toEqual(first.body.deliveries.map((d: any) => d.id).sort());
    expect(await rowCounts()).toEqual(counts);

    // A retried producer request with a different body still gets the original: the key is what counts.
    const changed = await call("POST", "/events", { eventType: "idem.other", payload: { n: 2 }, idempotencyKey: "order-17" });
    expect(changed.status).toBe(200);
    expect(changed.body).toMatchObject({ id: first.body.id, eventType: "idem.test" });
    expect(await rowCounts()).toEqual(counts);

    await eventually(async () => receivers.requests("https://idem.example.com/").length >= 2);
    await sleep(1500);
    expect(receivers.requests("https://idem.example.com/")).toHaveLength(2);
  });

  it("the Idempotency-Key header works like the body field, and shares its keys", async () => {
    const project = await createProject();
    const call = client(project.apiKey);
    const first = await call("POST", "/events", { eventType: "idem.header", payload: {} }, { headers: { "Idempotency-Key": "hdr-1" } });
    expect(first.status).toBe(202);
    const counts = await rowCounts();
    const again = await call("POST", "/events", { eventType: "idem.header", payload: {} }, { headers: { "Idempotency-Key": "hdr-1" } });
    expect(again.status).toBe(200);
    expect(again.body.id).toBe(first.body.id);
    const viaBody = await call("POST", "/events", { eventType: "idem.header", payload: {}, idempotencyKey: "hdr-1" });
    expect(viaBody.status).toBe(200);
    expect(viaBody.body.id).toBe(first.body.id);
    expect(await rowCounts()).toEqual(counts);
    expect((await call("GET", `/events/${first.body.id}`)).body.idempotencyKey).toBe("hdr-1");
  });

  it("different projects may use the same key", async () => {
    const a = await createProject("idem-a");
    const b = await createProject("idem-b");
    const fromA = await client(a.apiKey)("POST", "/events", { eventType: "k.v", payload: {}, idempotencyKey: "shared-key" });
    const fromB = await client(b.apiKey)("POST", "/events", { eventType: "k.v", payload: {}, idempotencyKey: "shared-key" });
    expect([fromA.status, fromB.status]).toEqual([202, 202]);
    expect(fromA.body.id).not.toBe(fromB.body.id);
  });

  it("two concurrent requests with one key create one event", async () => {
    const project = await createProject();
    await createEndpoint(project.apiKey, { url: "https://race.example.com/hook" });
    const call = client(project.apiKey);
    const before = await rowCounts();
    const results = await Promise.all([1, 2, 3].map(() => call("POST", "/events", { eventType: "race.once", payload: {}, idempotencyKey: "race" })));
    expect(results.map((r) => r.status).sort()).toEqual([200, 200, 202]);
    expect(new Set(results.map((r) => r.body.id)).size).toBe(1);
    const after = await rowCounts();
    expect(after.events - before.events).toBe(1);
    expect(after.deliveries - before.deliveries).toBe(1);
  });

  it("a batch returns the original for a key already used and creates the rest", async () => {
    const project = await createProject();
    const call = client(project.apiKey);
    const original = await sendEvent(project.apiKey, { eventType: "b.first", payload: {}, idempotencyKey: "batch-key" });
    const response = await call("POST", "/events/batch", {
      events: [
        { eventType: "b.first", payload: {}, idempotencyKey: "batch-key" },
        { eventType: "b.second", payload: {}, idempotencyKey: "batch-key-2" },
      ],
    });
    expect(response.status).toBe(202);
    expect(response.body.events[0].id).toBe(original.id);
    expect(response.body.events[1].id).not.toBe(original.id);
    expect((await call("GET", "/events")).body.data).toHaveLength(2);
  });
});

describe.concurrent("fan-out by event type", { timeout: 15_000 }, () => {
  async function setup(host: string) {
    const project = await createProject("fan-out");
    const call = client(project.apiKey);
    const make = (name: string, eventTypes?: string[]) => createEndpoint(project.apiKey, { url: `https://${host}.example.com/${name}`, ...(eventTypes && { eventTypes }) });
    const endpoints = {
      all: await make("all"),
      allEmpty: await make("all-empty", []),
      exact: await make("exact", ["invoice.paid"]),
      prefix: await make("prefix", ["invoice.*"]),
      user: await make("user", ["user.created", "user.deleted"]),
      disabled: await make("disabled"),
      deleted: await make("deleted"),
    };
    expect((await call("POST", `/endpoints/${endpoints.disabled.id}/disable`, { reason: "test" })).status).toBe(200);
    expect((await call("DELETE", `/endpoints/${endpoints.deleted.id}`)).status).toBe(202);
    const nameOf = new Map(Object.entries(endpoints).map(([name, e]) => [e.id, name]));
    const fanOut = async (body: Record<string, unknown>) => {
      const sent = await sendEvent(project.apiKey, { payload: {}, ...body });
      return Object.fromEntries(sent.deliveries.map((d) => [nameOf.get(d.endpointId), d.status]));
    };
    return { project, endpoints, fanOut };
  }

  it("matches empty filters, exact types and `prefix.*`; disabled endpoints get paused deliveries; deleted ones none", async () => {
    const { fanOut } = await setup("fan-types");
    expect(await fanOut({ eventType: "invoice.paid" })).toEqual({ all: "queued", allEmpty: "queued", exact: "queued", prefix: "queued", disabled: "paused" });
    expect(await fanOut({ eventType: "invoice.line.added" })).toEqual({ all: "queued", allEmpty: "queued", prefix: "queued", disabled: "paused" });
    expect(await fanOut({ eventType: "invoice" })).toEqual({ all: "queued", allEmpty: "queued", disabled: "paused" });
    expect(await fanOut({ eventType: "invoices.paid" })).toEqual({ all: "queued", allEmpty: "queued", disabled: "paused" });
    expect(await fanOut({ eventType: "user.deleted" })).toEqual({ all: "queued", allEmpty: "queued", user: "queued", disabled: "paused" });
  });

  it("endpointIds restricts the fan-out to the named endpoints", async () => {
    const { endpoints, fanOut } = await setup("fan-ids");
    expect(await fanOut({ eventType: "invoice.paid", endpointIds: [endpoints.exact.id] })).toEqual({ exact: "queued" });
    expect(await fanOut({ eventType: "invoice.paid", endpointIds: [endpoints.all.id, endpoints.disabled.id] })).toEqual({ all: "queued", disabled: "paused" });
  });

  it("a paused delivery is not sent", async () => {
    const { project, endpoints } = await setup("fan-paused");
    const sent = await sendEvent(project.apiKey, { eventType: "invoice.paid", payload: {} });
    await eventually(async () => receivers.requests("https://fan-paused.example.com/prefix").length === 1);
    await sleep(1200);
    expect(receivers.requests("https://fan-paused.example.com/disabled")).toHaveLength(0);
    expect(receivers.requests("https://fan-paused.example.com/deleted")).toHaveLength(0);
    const paused = sent.deliveries.find((d) => d.endpointId === endpoints.disabled.id)!;
    expect((await client(project.apiKey)("GET", `/deliveries/${paused.id}`)).body).toMatchObject({ status: "paused", attemptCount: 0 });
  });
});

describe.concurrent("GET /events: pagination and filters", { timeout: 15_000 }, () => {
  /** Creates events one by one, a few ms apart, so their times are distinct. */
  async function createEvents(apiKey: string, bodies: Record<string, unknown>[]) {
    const created = [];
    for (const body of bodies) {
      created.push(await sendEvent(apiKey, { payload: {}, ...body }));
      await sleep(3);
    }
    return created;
  }

  async function walk(call: ReturnType<typeof client>, query: string, limit: number) {
    const pages: any[][] = [];
    let cursor: string | null = null;
    do {
      const page: any = await call("GET", `/events?limit=${limit}${query}${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ""}`);
      expect(page.status).toBe(200);
      expect(page.body.data.length).toBeLessThanOrEqual(limit);
      pages.push(page.body.data);
      cursor = page.body.nextCursor;
      if (pages.length > 20) throw new Error("cursor never ends");
    } while (cursor);
    return pages;
  }

  it("a cursor walk returns every event exactly once, newest first", async () => {
    const project = await createProject();
    const call = client(project.apiKey);
    const created = await createEvents(project.apiKey, Array.from({ length: 8 }, (_, i) => ({ eventType: `page.e${i}` })));
    const pages = await walk(call, "", 3);
    expect(pages.map((p) => p.length)).toEqual([3, 3, 2]);
    const ids = pages.flat().map((e) => e.id);
    expect(ids).toEqual(created.map((e) => e.id).reverse());
    const times = pages.flat().map((e) => Date.parse(e.createdAt));
    expect(times).toEqual([...times].sort((x, y) => y - x));
    // An exact page boundary ends with a null cursor too.
    expect((await walk(call, "", 4)).map((p) => p.length)).toEqual([4, 4]);
    expect((await call("GET", "/events")).body.nextCursor).toBeNull();
  });

  it("filters by eventType, since/until and search", async () => {
    const project = await createProject();
    const call = client(project.apiKey);
    const e = await createEvents(project.apiKey, [
      { eventType: "f.a", idempotencyKey: "key-0" },
      { eventType: "f.b" },
      { eventType: "f.a" },
      { eventType: "f.b", idempotencyKey: "key-3" },
      { eventType: "f.a" },
    ]);
    const ids = async (query: string) => (await call("GET", `/events?${query}`)).body.data.map((x: any) => x.id);
    const of = (...indexes: number[]) => indexes.map((i) => e[i].id);

    expect(await ids("eventType=f.a")).toEqual(of(4, 2, 0));
    expect(await ids("eventType=f")).toEqual([]);
    expect(await ids(`since=${encodeURIComponent(e[2].createdAt)}`)).toEqual(of(4, 3, 2));
    expect(await ids(`until=${encodeURIComponent(e[1].createdAt)}`)).toEqual(of(1, 0));
    expect(await ids(`since=${encodeURIComponent(e[1].createdAt)}&until=${encodeURIComponent(e[3].createdAt)}&eventType=f.b`)).toEqual(of(3, 1));
    expect(await ids(`search=${e[3].id}`)).toEqual(of(3));
    expect(await ids("search=key-0")).toEqual(of(0));
    expect(await ids("search=key")).toEqual([]);
    const walked = await walk(call, "&eventType=f.a", 2);
    expect(walked.flat().map((x) => x.id)).toEqual(of(4, 2, 0));
  });

  it("filters by delivery status and endpoint, and counts deliveries per status", async () => {
    const project = await createProject();
    const call = client(project.apiKey);
    const ok = await createEndpoint(project.apiKey, { url: "https://status.example.com/ok", eventTypes: ["s.*"] });
    const off = await createEndpoint(project.apiKey, { url: "https://status.example.com/off", eventTypes: ["s.*"] });
    await call("POST", `/endpoints/${off.id}/disable`);
    const [toOk, toOff, toBoth, toNone] = await createEvents(project.apiKey, [
      { eventType: "s.x", endpointIds: [ok.id] },
      { eventType: "s.x", endpointIds: [off.id] },
      { eventType: "s.x" },
      { eventType: "nobody.listens" },
    ]);
    await eventually(async () => (await call("GET", `/deliveries?endpointId=${ok.id}&status=succeeded`)).body.data.length === 2);

    const ids = async (query: string) => (await call("GET", `/events?${query}`)).body.data.map((x: any) => x.id);
    expect(await ids("status=paused")).toEqual([toBoth.id, toOff.id]);
    expect(await ids("status=succeeded")).toEqual([toBoth.id, toOk.id]);
    expect(await ids(`endpointId=${ok.id}`)).toEqual([toBoth.id, toOk.id]);
    // Status and endpoint must hold for the same delivery.
    expect(await ids(`endpointId=${off.id}&status=succeeded`)).toEqual([]);
    expect(await ids("status=failed")).toEqual([]);

    const list = (await call("GET", "/events")).body.data;
    expect(list.map((x: any) => x.id)).toEqual([toNone.id, toBoth.id, toOff.id, toOk.id]);
    expect(list.find((x: any) => x.id === toBoth.id).deliveryCounts).toEqual({ queued: 0, sending: 0, retrying: 0, succeeded: 1, failed: 0, paused: 1 });
    expect(Object.values(list.find((x: any) => x.id === toNone.id).deliveryCounts).every((n) => n === 0)).toBe(true);
  });
});

describe("GET /event-types", () => {
  it("lists the types this project has sent, once each and sorted, and none of another project's", async () => {
    const project = await createProject("types");
    const other = await createProject("other-types");
    for (const eventType of ["user.created", "invoice.paid", "user.created"]) await sendEvent(project.apiKey, { eventType, payload: {} });
    await sendEvent(other.apiKey, { eventType: "secret.thing", payload: {} });
    const listed = await api("GET", "/api/v1/event-types", { token: project.apiKey });
    expect(listed.status).toBe(200);
    expect(listed.body).toEqual({ data: ["invoice.paid", "user.created"] });
  });
});
