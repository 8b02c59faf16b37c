import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { client, createEndpoint, createProject, eventually, expectProblem, fakeReceivers, sendEvent } from "../helpers";

let receivers: ReturnType<typeof fakeReceivers>;
let call: ReturnType<typeof client>;
let apiKey: string;
beforeAll(async () => {
  receivers = fakeReceivers();
  const project = await createProject("delivery-errors");
  apiKey = project.apiKey;
  call = client(apiKey);
});
afterAll(() => receivers.restore());

describe("resend refuses what it cannot do", { timeout: 15_000 }, () => {
  it("a paused delivery (disabled endpoint) is a 409 and stays paused", async () => {
    const endpoint = await createEndpoint(apiKey, { url: "https://paused.example.com/hook" });
    await call("POST", `/endpoints/${endpoint.id}/disable`);
    const [delivery] = (await sendEvent(apiKey, { eventType: "a.b", payload: {}, endpointIds: [endpoint.id] })).deliveries;
    const problem = expectProblem(await call("POST", `/deliveries/${delivery.id}/resend`), 409);
    expect(problem.detail).toMatch(/disabled/);
    expect((await call("GET", `/deliveries/${delivery.id}`)).body.status).toBe("paused");
  });

  it("a delivery being sent right now is a 409, and is sent once", async () => {
    let release!: () => void;
    const answer = new Promise<void>((resolve) => (release = resolve));
    receivers.on("https://busy.example.com/", async () => {
      await answer;
      return new Response("ok");
    });
    const endpoint = await createEndpoint(apiKey, { url: "https://busy.example.com/hook" });
    const [delivery] = (await sendEvent(apiKey, { eventType: "a.b", payload: {}, endpointIds: [endpoint.id] })).deliveries;
    await eventually(async () => receivers.requests("https://busy.example.com/").length === 1);
    expectProblem(await call("POST", `/deliveries/${delivery.id}/resend`), 409);
    release();
    await eventually(async () => (await call("GET", `/deliveries/${delivery.id}`)).body.status === "succeeded");
    expect(receivers.requests("https://busy.example.com/")).toHaveLength(1);
  });

  it("an unknown delivery is a 404", async () => {
    expectProblem(await call("POST", "/deliveries/dlv_nope/resend"), 404);
    expectProblem(await call("GET", "/deliveries/dlv_nope"), 404);
  });

  it("a bulk resend with an unknown field or status is a 422", async () => {
    expect(expectProblem(await call("POST", "/deliveries/resend", { stauts: "failed" }), 422).errors?.[0].path).toBe("stauts");
    expect(expectProblem(await call("POST", "/deliveries/resend", { status: "broken" }), 422).errors?.[0].path).toBe("status");
    expectProblem(await call("POST", "/deliveries/resend", { since: "last week" }), 422);
  });
});
