import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createEndpoint, deliveryRow, eventually, fakeReceivers, sendEvent } from "../helpers";
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

describe("deliveries are isolated by project", () => {
  it("another project's key gets 404 for the owner's delivery and its resend, and never lists it", async () => {
    const endpoint = await createEndpoint(owner.apiKey, { url: "https://owner.example.com/hook" });
    const event = await sendEvent(owner.apiKey, { eventType: "a.b", payload: {} });
    const [delivery] = event.deliveries;
    await eventually(async () => (await deliveryRow(delivery.id)).status === "succeeded");
    await expectTenantIsolation({
      owner,
      intruder,
      routes: [
        { method: "GET", path: `/deliveries/${delivery.id}` },
        { method: "POST", path: `/deliveries/${delivery.id}/resend` },
      ],
      lists: [
        { path: "/deliveries", ids: [delivery.id] },
        { path: `/deliveries?eventId=${event.id}`, ids: [delivery.id] },
        { path: `/deliveries?endpointId=${endpoint.id}`, ids: [delivery.id] },
        { path: "/deliveries?status=succeeded", ids: [delivery.id] },
      ],
    });
    // Neither resend reached the owner's delivery.
    expect(await deliveryRow(delivery.id)).toMatchObject({ status: "succeeded", attemptCount: 1 });
  });

  it("a bulk resend by another project touches none of the owner's deliveries", async () => {
    await createEndpoint(owner.apiKey, { url: "https://bulk.example.com/hook" });
    const event = await sendEvent(owner.apiKey, { eventType: "bulk.x", payload: {} });
    const [delivery] = event.deliveries;
    await eventually(async () => (await deliveryRow(delivery.id)).status === "succeeded");
    const before = await deliveryRow(delivery.id);

    for (const body of [{}, { status: "succeeded" }, { eventType: "bulk.x" }, { endpointId: before.endpointId }]) {
      const response = await intruder.call("POST", "/deliveries/resend", body);
      expect(response.status).toBe(202);
      expect(response.body).toMatchObject({ count: 0 });
      // The resend job ran to its end without reaching the owner's rows.
      await eventually(async () => (await intruder.call("GET", `/jobs/${response.body.jobId}`)).body.status === "succeeded");
    }
    expect(await deliveryRow(delivery.id)).toEqual(before);
  });
});
