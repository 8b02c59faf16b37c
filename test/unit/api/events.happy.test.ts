import { afterEach, describe, expect, it } from "vitest";
import { api, createEndpoint, createProject, eventually, fakeReceivers } from "../helpers";

let receivers: ReturnType<typeof fakeReceivers>;
afterEach(() => receivers?.restore());

describe("POST /events", () => {
  it("fans out to every subscribed endpoint and the consumer delivers each one", async () => {
    receivers = fakeReceivers();
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
  });
});
