import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { client, createProject, eventually, expectProblem, fakeReceivers } from "../helpers";

let receivers: ReturnType<typeof fakeReceivers>;
let call: ReturnType<typeof client>;
beforeAll(async () => {
  receivers = fakeReceivers();
  receivers.on("https://", () => new Response("ok"));
  call = client((await createProject("apps")).apiKey);
}, 30_000);
afterAll(() => receivers.restore());

describe("application CRUD", () => {
  it("creates, reads by id and by uid, lists, changes and deletes", async () => {
    const created = await call("POST", "/applications", { name: "Domino's", uid: "cus_123", metadata: { plan: "pro" }, rateLimitPerSecond: 20 });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ id: expect.stringMatching(/^app_/), uid: "cus_123", name: "Domino's", metadata: { plan: "pro" }, rateLimitPerSecond: 20 });
    const id = created.body.id;

    expect((await call("GET", `/applications/${id}`)).body.uid).toBe("cus_123");
    expect((await call("GET", "/applications/cus_123")).body.id).toBe(id);
    expect((await call("GET", "/applications")).body.data.map((a: any) => a.id)).toContain(id);

    const patched = await call("PATCH", "/applications/cus_123", { name: "Domino's Pizza", metadata: {} });
    expect(patched.status).toBe(200);
    expect(patched.body).toMatchObject({ id, name: "Domino's Pizza", metadata: {}, uid: "cus_123" });

    expect((await call("DELETE", "/applications/cus_123")).status).toBe(202);
    expectProblem(await call("GET", `/applications/${id}`), 404);
    // A deleted application's uid is free again.
    expect((await call("POST", "/applications", { name: "again", uid: "cus_123" })).status).toBe(201);
  });

  it("refuses a duplicate uid with 409 and a uid that looks like an id with 422", async () => {
    expect((await call("POST", "/applications", { name: "a", uid: "dup" })).status).toBe(201);
    const duplicate = expectProblem(await call("POST", "/applications", { name: "b", uid: "dup" }), 409);
    expect(duplicate.errors?.[0].path).toBe("uid");
    const other = await call("POST", "/applications", { name: "c", uid: "other" });
    expectProblem(await call("PATCH", `/applications/${other.body.id}`, { uid: "dup" }), 409);
    expect(expectProblem(await call("POST", "/applications", { name: "d", uid: "app_01X" }), 422).errors?.[0].path).toBe("uid");
    expect(expectProblem(await call("POST", "/applications", { name: "e", uid: "has space" }), 422).errors?.[0].path).toBe("uid");
    expect(expectProblem(await call("POST", "/applications", { uid: "no-name" }), 422).errors?.[0].path).toBe("name");
  });

  it("endpoints belong to an application by id or uid, start with its rate limit, and list by application", async () => {
    const app = (await call("POST", "/applications", { name: "Acme", uid: "acme", rateLimitPerSecond: 7 })).body;
    const own = await call("POST", "/endpoints", { url: "https://acme.example.com/a", applicationId: "acme" });
    expect(own.status).toBe(201);
    expect(own.body).toMatchObject({ applicationId: app.id, rateLimitPerSecond: 7 });
    const projectLevel = (await call("POST", "/endpoints", { url: "https://project.example.com/" })).body;
    expect(projectLevel.applicationId).toBeNull();

    const listed = await call("GET", "/endpoints?application=acme");
    expect(listed.body.data.map((e: any) => e.id)).toEqual([own.body.id]);
    expect(expectProblem(await call("GET", "/endpoints?application=nobody"), 422).errors?.[0].path).toBe("application");
    expect(expectProblem(await call("POST", "/endpoints", { url: "https://x.example.com/", applicationId: "nobody" }), 404).detail).toMatch(/application/);
  });

  it("deleting an application deletes its endpoints, whose pending deliveries end as failed", async () => {
    const app = (await call("POST", "/applications", { name: "Leaving", uid: "leaving" })).body;
    const endpointIds: string[] = [];
    for (let i = 0; i < 3; i++) endpointIds.push((await call("POST", "/endpoints", { url: `https://leaving${i}.example.com/`, applicationId: app.id })).body.id);
    await call("POST", `/endpoints/${endpointIds[0]}/disable`);
    const sent = await call("POST", "/events", { eventType: "x.y", payload: {}, application: "leaving" });
    expect(sent.body.deliveries).toHaveLength(3);
    const deleted = await call("DELETE", "/applications/leaving");
    expect(deleted).toMatchObject({ status: 202, body: { jobId: expect.stringMatching(/^job_/) } });
    await eventually(async () => (await call("GET", `/jobs/${deleted.body.jobId}`)).body.status === "succeeded");
    for (const id of endpointIds) expectProblem(await call("GET", `/endpoints/${id}`), 404);
    const paused = sent.body.deliveries.find((d: any) => d.endpointId === endpointIds[0]);
    expect((await call("GET", `/deliveries/${paused.id}`)).body).toMatchObject({ status: "failed", lastError: "endpoint deleted" });
    expectProblem(await call("POST", "/events", { eventType: "x.y", payload: {}, application: "leaving" }), 422);
  });
});

describe("events for an application", () => {
  it("go only to its endpoints; events without one only to endpoints without one; lists and stats filter by it", async () => {
    const [a, b] = [(await call("POST", "/applications", { name: "A", uid: "fan-a" })).body, (await call("POST", "/applications", { name: "B", uid: "fan-b" })).body];
    const epA = (await call("POST", "/endpoints", { url: "https://fan-a.example.com/", applicationId: a.id, eventTypes: ["order.*"] })).body;
    const epA2 = (await call("POST", "/endpoints", { url: "https://fan-a2.example.com/", applicationId: a.id, eventTypes: ["invoice.*"] })).body;
    const epB = (await call("POST", "/endpoints", { url: "https://fan-b.example.com/", applicationId: b.id })).body;
    const epOwn = (await call("POST", "/endpoints", { url: "https://fan-own.example.com/" })).body;

    const toA = await call("POST", "/events", { eventType: "order.created", payload: { n: 1 }, application: "fan-a" });
    expect(toA.status).toBe(202);
    expect(toA.body.deliveries.map((d: any) => d.endpointId)).toEqual([epA.id]);
    const toB = await call("POST", "/events", { eventType: "order.created", payload: { n: 2 }, application: b.id });
    expect(toB.body.deliveries.map((d: any) => d.endpointId)).toEqual([epB.id]);
    const toNone = await call("POST", "/events", { eventType: "order.created", payload: { n: 3 } });
    expect(toNone.body.deliveries.map((d: any) => d.endpointId)).not.toContain(epA.id);
    expect(toNone.body.deliveries.map((d: any) => d.endpointId)).not.toContain(epB.id);
    expect(toNone.body.deliveries.map((d: any) => d.endpointId)).toContain(epOwn.id);
    const batch = await call("POST", "/events/batch", { events: [{ eventType: "invoice.paid", payload: {}, application: "fan-a" }, { eventType: "invoice.paid", payload: {}, application: "fan-b" }] });
    expect(batch.status).toBe(202);
    expect(batch.body.events[0].deliveries.map((d: any) => d.endpointId)).toEqual([epA2.id]);
    expect(batch.body.events[1].deliveries.map((d: any) => d.endpointId)).toEqual([epB.id]);

    const events = await call("GET", "/events?application=fan-a");
    expect(events.body.data.map((e: any) => e.id).sort()).toEqual([toA.body.id, batch.body.events[0].id].sort());
    expect(events.body.data.every((e: any) => e.applicationId === a.id)).toBe(true);
    const deliveries = await call("GET", "/deliveries?application=fan-b");
    expect(deliveries.body.data.map((d: any) => d.endpointId)).toEqual([epB.id, epB.id]);
    expect((await call("GET", "/event-types?application=fan-a")).body.data).toEqual(["invoice.paid", "order.created"]);
    await eventually(async () => (await call("GET", "/stats?application=fan-a")).body.succeeded === 2);
    const stats = (await call("GET", "/stats?application=fan-a")).body;
    expect(stats).toMatchObject({ events: 2, deliveries: 2, succeeded: 2 });
  });

  it("names the field when the application or an endpoint outside it is given", async () => {
    const app = (await call("POST", "/applications", { name: "C", uid: "named" })).body;
    const other = (await call("POST", "/endpoints", { url: "https://outside.example.com/" })).body;
    expect(expectProblem(await call("POST", "/events", { eventType: "a.b", payload: {}, application: "missing" }), 422).errors?.[0].path).toBe("application");
    const batch = await call("POST", "/events/batch", { events: [{ eventType: "a.b", payload: {} }, { eventType: "a.b", payload: {}, application: "missing" }] });
    expect(expectProblem(batch, 422).errors?.[0].path).toBe("events[1].application");
    const wrongEndpoint = await call("POST", "/events", { eventType: "a.b", payload: {}, application: app.id, endpointIds: [other.id] });
    expect(expectProblem(wrongEndpoint, 422).errors?.[0].path).toBe("endpointIds[0]");
  });

  it("a test event to an application's endpoint belongs to that application", async () => {
    const app = (await call("POST", "/applications", { name: "T", uid: "tested" })).body;
    const endpoint = (await call("POST", "/endpoints", { url: "https://tested.example.com/", applicationId: app.id })).body;
    const test = await call("POST", `/endpoints/${endpoint.id}/test`, {});
    expect(test.status).toBe(202);
    expect(test.body.deliveries.map((d: any) => d.endpointId)).toEqual([endpoint.id]);
    expect((await call("GET", `/events/${test.body.id}`)).body.applicationId).toBe(app.id);
  });
});
