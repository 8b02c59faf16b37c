import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createEndpoint, fakeReceivers, sendEvent } from "../helpers";
import { expectTenantIsolation, twoTenants, type Tenant } from "./tenant-isolation";

let receivers: ReturnType<typeof fakeReceivers>;
let owner: Tenant;
let intruder: Tenant;
beforeAll(async () => {
  receivers = fakeReceivers();
  receivers.on("https://", () => new Response("ok"));
  ({ owner, intruder } = await twoTenants());
});
afterAll(() => receivers.restore());

describe("events are isolated by project", () => {
  it("another project's key gets 404 for the owner's event and never lists it, under any filter", async () => {
    const endpoint = await createEndpoint(owner.apiKey, { url: "https://owner.example.com/hook" });
    const event = await sendEvent(owner.apiKey, { eventType: "secret.thing", payload: { ssn: "123" }, idempotencyKey: "owner-key" });
    await expectTenantIsolation({
      owner,
      intruder,
      routes: [{ method: "GET", path: `/events/${event.id}` }],
      lists: [
        { path: "/events", ids: [event.id] },
        { path: "/events?eventType=secret.thing", ids: [event.id] },
        { path: `/events?search=${event.id}`, ids: [event.id] },
        { path: "/events?search=owner-key", ids: [event.id] },
        { path: `/events?endpointId=${endpoint.id}`, ids: [event.id] },
      ],
    });
  });

  it("another project's stats do not count the owner's events", async () => {
    await sendEvent(owner.apiKey, { eventType: "counted.once", payload: {} });
    const stats = await intruder.call("GET", "/stats");
    expect(stats.status).toBe(200);
    expect(stats.body).toMatchObject({ events: 0, deliveries: 0 });
    expect((await owner.call("GET", "/stats")).body.events).toBeGreaterThan(0);
  });
});
