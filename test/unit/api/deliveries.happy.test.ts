import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { client, createEndpoint, createProject, eventually, fakeReceivers, sendEvent, sleep } from "../helpers";

// One fake network for the whole file; every test uses its own receiver hosts, so the tests run concurrently.
let receivers: ReturnType<typeof fakeReceivers>;
beforeAll(() => {
  receivers = fakeReceivers();
  receivers.on("https://", () => new Response("ok"));
});
afterAll(() => receivers.restore());

describe.concurrent("GET /deliveries", { timeout: 15_000 }, () => {
  it("a cursor walk returns every delivery exactly once, newest first", async () => {
    const project = await createProject();
    const call = client(project.apiKey);
    await createEndpoint(project.apiKey, { url: "https://walk.example.com/1" });
    await createEndpoint(project.apiKey, { url: "https://walk.example.com/2" });
    const created: string[] = [];
    for (let i = 0; i < 4; i++) {
      created.push(...(await sendEvent(project.apiKey, { eventType: "walk.x", payload: { i } })).deliveries.map((d) => d.id));
      await sleep(3);
    }
    const seen: any[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const page: any = await call("GET", `/deliveries?limit=3${cursor ? `&cursor=${cursor}` : ""}`);
      expect(page.status).toBe(200);
      expect(page.body.data.length).toBeLessThanOrEqual(3);
      seen.push(...page.body.data);
      cursor = page.body.nextCursor;
      pages++;
    } while (cursor && pages < 10);
    expect(pages).toBe(3);
    const ids = seen.map((d) => d.id);
    expect(new Set(ids).size).toBe(8);
    expect([...ids].sort()).toEqual([...created].sort());
    expect(ids).toEqual([...ids].sort().reverse());
    const times = seen.map((d) => Date.parse(d.createdAt));
    expect(times).toEqual([...times].sort((a, b) => b - a));
  });

  it("filters by status, endpointId, eventId, eventType and time", async () => {
    const project = await createProject();
    const call = client(project.apiKey);
    const on = await createEndpoint(project.apiKey, { url: "https://filters.example.com/on" });
    const off = await createEndpoint(project.apiKey, { url: "https://filters.example.com/off" });
    await call("POST", `/endpoints/${off.id}/disable`);
    const first = await sendEvent(project.apiKey, { eventType: "f.one", payload: {} });
    await sleep(5);
    const second = await sendEvent(project.apiKey, { eventType: "f.two", payload: {} });
    await eventually(async () => (await call("GET", "/deliveries?status=succeeded")).body.data.length === 2);

    const ids = async (query: string) => (await call("GET", `/deliveries?${query}`)).body.data.map((d: any) => d.id).sort();
    const idOf = (event: typeof first, endpointId: string) => event.deliveries.find((d) => d.endpointId === endpointId)!.id;
    const sorted = (...values: string[]) => values.sort();

    expect(await ids("status=paused")).toEqual(sorted(idOf(first, off.id), idOf(second, off.id)));
    expect(await ids("status=succeeded")).toEqual(sorted(idOf(first, on.id), idOf(second, on.id)));
    expect(await ids(`endpointId=${on.id}`)).toEqual(sorted(idOf(first, on.id), idOf(second, on.id)));
    expect(await ids(`eventId=${first.id}`)).toEqual(sorted(idOf(first, on.id), idOf(first, off.id)));
    expect(await ids("eventType=f.two")).toEqual(sorted(idOf(second, on.id), idOf(second, off.id)));
    expect(await ids(`eventType=f.two&status=paused&endpointId=${off.id}`)).toEqual([idOf(second, off.id)]);
    expect(await ids(`since=${encodeURIComponent(second.createdAt)}`)).toEqual(sorted(idOf(second, on.id), idOf(second, off.id)));
    expect(await ids(`until=${encodeURIComponent(first.createdAt)}`)).toEqual(sorted(idOf(first, on.id), idOf(first, off.id)));
    expect(await ids("status=failed")).toEqual([]);

    const item = (await call("GET", `/deliveries?eventId=${first.id}&endpointId=${on.id}`)).body.data[0];
    expect(item).toMatchObject({ eventId: first.id, endpointId: on.id, endpointUrl: "https://filters.example.com/on", eventType: "f.one", status: "succeeded", attemptCount: 1, lastStatusCode: 200 });
  });

  it("rejects an unknown status or a bad limit", async () => {
    const project = await createProject();
    const call = client(project.apiKey);
    expect((await call("GET", "/deliveries?status=done")).status).toBe(422);
    expect((await call("GET", "/deliveries?limit=1000")).status).toBe(422);
    expect((await call("GET", "/deliveries/dlv_nope")).status).toBe(404);
  });
});

describe.concurrent("POST /deliveries/resend", { timeout: 20_000 }, () => {
  it("resends every delivery matching the filter and nothing else", async () => {
    const project = await createProject();
    const call = client(project.apiKey);
    expect((await call("PATCH", "/project", { retrySchedule: [1] })).status).toBe(200);
    receivers.on("https://bulk.example.com/down", () => new Response("down", { status: 500 }));
    const down = await createEndpoint(project.apiKey, { url: "https://bulk.example.com/down" });
    const up = await createEndpoint(project.apiKey, { url: "https://bulk.example.com/up" });
    await sendEvent(project.apiKey, { eventType: "bulk.a", payload: {} });
    await sendEvent(project.apiKey, { eventType: "bulk.b", payload: {} });
    await eventually(async () => (await call("GET", `/deliveries?endpointId=${down.id}&status=failed`)).body.data.length === 2, 12_000);
    await eventually(async () => (await call("GET", `/deliveries?endpointId=${up.id}&status=succeeded`)).body.data.length === 2);

    receivers.on("https://bulk.example.com/down", () => new Response("recovered"));
    const resent = await call("POST", "/deliveries/resend", { status: "failed", endpointId: down.id, eventType: "bulk.a" });
    expect(resent).toMatchObject({ status: 202, body: { count: 1 } });
    await eventually(async () => (await call("GET", `/deliveries?endpointId=${down.id}&status=succeeded`)).body.data.length === 1);
    expect((await call("GET", `/deliveries?endpointId=${down.id}&status=failed`)).body.data.map((d: any) => d.eventType)).toEqual(["bulk.b"]);
    expect(receivers.requests("https://bulk.example.com/up")).toHaveLength(2);

    expect((await call("POST", "/deliveries/resend", { status: "failed" })).body).toMatchObject({ count: 1, jobId: expect.stringMatching(/^job_/) });
    expect((await call("POST", "/deliveries/resend", { bogus: true })).status).toBe(422);
  });
});
