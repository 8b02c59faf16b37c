import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createEndpoint, fakeReceivers, rowCounts } from "../helpers";
import { expectTenantIsolation, twoTenants, type Tenant } from "./tenant-isolation";

let receivers: ReturnType<typeof fakeReceivers>;
let owner: Tenant;
let intruder: Tenant;
let endpoint: { id: string; secret: string };
beforeAll(async () => {
  receivers = fakeReceivers();
  receivers.on("https://", () => new Response("ok"));
  ({ owner, intruder } = await twoTenants());
  endpoint = await createEndpoint(owner.apiKey, { url: "https://owner.example.com/hook", description: "owner's", eventTypes: ["a.*"] });
});
afterAll(() => receivers.restore());

describe("endpoints are isolated by project", () => {
  it("another project's key gets 404 for every endpoint route and never lists them", async () => {
    const id = endpoint.id;
    await expectTenantIsolation({
      owner,
      intruder,
      routes: [
        { method: "GET", path: `/endpoints/${id}` },
        { method: "PATCH", path: `/endpoints/${id}`, body: { description: "taken over", url: "https://intruder.example.com/" } },
        { method: "GET", path: `/endpoints/${id}/secret` },
        { method: "POST", path: `/endpoints/${id}/secret/rotate`, body: { graceSeconds: 0 } },
        { method: "POST", path: `/endpoints/${id}/disable`, body: { reason: "intruder" } },
        { method: "POST", path: `/endpoints/${id}/enable` },
        { method: "POST", path: `/endpoints/${id}/test`, body: {} },
        { method: "DELETE", path: `/endpoints/${id}` },
      ],
      lists: [{ path: "/endpoints", ids: [id] }],
    });
  });

  it("the intruder's attempts changed nothing of the owner's endpoint", async () => {
    const current = await owner.call("GET", `/endpoints/${endpoint.id}`);
    expect(current.status).toBe(200);
    expect(current.body).toMatchObject({ url: "https://owner.example.com/hook", description: "owner's", status: "active" });
    expect((await owner.call("GET", `/endpoints/${endpoint.id}/secret`)).body.secret).toBe(endpoint.secret);
    expect(receivers.requests("https://owner.example.com/")).toHaveLength(0);
  });

  it("an event of another project cannot name the owner's endpoint", async () => {
    const before = await rowCounts();
    const response = await intruder.call("POST", "/events", { eventType: "a.b", payload: {}, endpointIds: [endpoint.id] });
    expect(response.status).toBe(422);
    expect(response.body.errors[0].path).toBe("endpointIds[0]");
    expect((await rowCounts()).deliveries).toBe(before.deliveries);
  });

  it("an event of another project never fans out to the owner's endpoint", async () => {
    const sent = await intruder.call("POST", "/events", { eventType: "a.b", payload: {} });
    expect(sent.status).toBe(202);
    expect(sent.body.deliveries).toEqual([]);
  });
});
