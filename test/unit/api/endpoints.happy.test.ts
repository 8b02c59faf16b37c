import { Webhook } from "standardwebhooks";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { client, createEndpoint, createProject, eventually, expectProblem, fakeReceivers, sendEvent } from "../helpers";

// One fake network for the whole file; every test uses its own receiver hosts, so the tests run concurrently.
let receivers: ReturnType<typeof fakeReceivers>;
beforeAll(() => {
  receivers = fakeReceivers();
  receivers.on("https://", () => new Response("ok"));
});
afterAll(() => receivers.restore());

const SPEC_SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";

async function nextRequest(prefix: string, count: number) {
  const requests = await eventually(async () => receivers.requests(prefix).length >= count && receivers.requests(prefix));
  return requests[count - 1];
}

const verifies = (secret: string, request: { body: string; headers: Record<string, string> }) => {
  try {
    new Webhook(secret).verify(request.body, request.headers);
    return true;
  } catch {
    return false;
  }
};

describe.concurrent("endpoints", { timeout: 15_000 }, () => {
  it("POST /endpoints returns the endpoint, active, with defaults and a generated secret", async () => {
    const project = await createProject();
    const response = await client(project.apiKey)("POST", "/endpoints", { url: "https://create.example.com/hook" });
    expect(response.status).toBe(201);
    expect(response.body).toMatchObject({
      id: expect.stringMatching(/^ep_/),
      url: "https://create.example.com/hook",
      description: "",
      eventTypes: [],
      headers: {},
      timeoutMs: 15_000,
      status: "active",
      secret: expect.stringMatching(/^whsec_/),
    });
    expect((await client(project.apiKey)("GET", `/endpoints/${response.body.id}/secret`)).body).toEqual({ secret: response.body.secret });
  });

  it("a given secret is the one that signs", async () => {
    const project = await createProject();
    await createEndpoint(project.apiKey, { url: "https://given-secret.example.com/hook", secret: SPEC_SECRET });
    await sendEvent(project.apiKey, { eventType: "a.b", payload: {} });
    const request = await nextRequest("https://given-secret.example.com/", 1);
    expect(request.headers["webhook-signature"].split(" ")).toHaveLength(1);
    expect(verifies(SPEC_SECRET, request)).toBe(true);
  });

  it("after a rotation both secrets sign during the grace period; the new one is listed first", async () => {
    const project = await createProject();
    const call = client(project.apiKey);
    const endpoint = await createEndpoint(project.apiKey, { url: "https://rotate.example.com/hook" });
    const rotated = await call("POST", `/endpoints/${endpoint.id}/secret/rotate`);
    expect(rotated.status).toBe(200);
    const newSecret = rotated.body.secret;
    expect(newSecret).toMatch(/^whsec_/);
    expect(newSecret).not.toBe(endpoint.secret);
    expect((await call("GET", `/endpoints/${endpoint.id}/secret`)).body.secret).toBe(newSecret);

    await sendEvent(project.apiKey, { eventType: "a.b", payload: { n: 1 } });
    const request = await nextRequest("https://rotate.example.com/", 1);
    const [first, second] = request.headers["webhook-signature"].split(" ");
    expect(request.headers["webhook-signature"].split(" ")).toHaveLength(2);
    expect(verifies(newSecret, { ...request, headers: { ...request.headers, "webhook-signature": first } })).toBe(true);
    expect(verifies(endpoint.secret, { ...request, headers: { ...request.headers, "webhook-signature": second } })).toBe(true);

    // A second rotation with no grace leaves only the newest secret signing.
    const again = (await call("POST", `/endpoints/${endpoint.id}/secret/rotate`, { graceSeconds: 0 })).body.secret;
    await sendEvent(project.apiKey, { eventType: "a.b", payload: { n: 2 } });
    const later = await nextRequest("https://rotate.example.com/", 2);
    expect(later.headers["webhook-signature"].split(" ")).toHaveLength(1);
    expect(verifies(again, later)).toBe(true);
    expect(verifies(newSecret, later)).toBe(false);
    expect(verifies(endpoint.secret, later)).toBe(false);
  });

  it("PATCH changes the url, filters and headers that later deliveries use", async () => {
    const project = await createProject();
    const call = client(project.apiKey);
    const endpoint = await createEndpoint(project.apiKey, { url: "https://before.example.com/hook", eventTypes: ["x.only"] });
    const patched = await call("PATCH", `/endpoints/${endpoint.id}`, { url: "https://after.example.com/hook", eventTypes: [], headers: { "X-Env": "prod" }, timeoutMs: 5000 });
    expect(patched.status).toBe(200);
    expect(patched.body).toMatchObject({ url: "https://after.example.com/hook", eventTypes: [], headers: { "X-Env": "prod" }, timeoutMs: 5000 });
    await sendEvent(project.apiKey, { eventType: "any.type", payload: {} });
    const request = await nextRequest("https://after.example.com/", 1);
    expect(request.headers["x-env"]).toBe("prod");
    expect(receivers.requests("https://before.example.com/")).toHaveLength(0);
  });

  it("GET /endpoints pages newest first", async () => {
    const project = await createProject();
    const call = client(project.apiKey);
    const created = [];
    for (let i = 0; i < 5; i++) created.push((await createEndpoint(project.apiKey, { url: `https://list.example.com/${i}` })).id);
    const first = await call("GET", "/endpoints?limit=2");
    const second = await call("GET", `/endpoints?limit=2&cursor=${first.body.nextCursor}`);
    const third = await call("GET", `/endpoints?limit=2&cursor=${second.body.nextCursor}`);
    expect([...first.body.data, ...second.body.data, ...third.body.data].map((e: any) => e.id)).toEqual(created.reverse());
    expect(third.body.nextCursor).toBeNull();
  });

  it("DELETE removes the endpoint, fails its pending deliveries and stops fan-out to it", async () => {
    const project = await createProject();
    const call = client(project.apiKey);
    const endpoint = await createEndpoint(project.apiKey, { url: "https://deleted.example.com/hook" });
    await call("POST", `/endpoints/${endpoint.id}/disable`);
    const pending = await sendEvent(project.apiKey, { eventType: "a.b", payload: {} });
    expect(pending.deliveries[0].status).toBe("paused");

    const deleted = await call("DELETE", `/endpoints/${endpoint.id}`);
    expect(deleted).toMatchObject({ status: 202, body: { jobId: expect.stringMatching(/^job_/) } });
    expectProblem(await call("GET", `/endpoints/${endpoint.id}`), 404);
    expect((await call("GET", "/endpoints")).body.data).toEqual([]);
    await eventually(async () => (await call("GET", `/jobs/${deleted.body.jobId}`)).body.status === "succeeded");
    expect((await call("GET", `/deliveries/${pending.deliveries[0].id}`)).body).toMatchObject({ status: "failed", lastError: "endpoint deleted" });
    expect((await sendEvent(project.apiKey, { eventType: "a.b", payload: {} })).deliveries).toEqual([]);
  });

  it("POST /endpoints/:id/test sends a test event to that endpoint only", async () => {
    const project = await createProject();
    const target = await createEndpoint(project.apiKey, { url: "https://test-target.example.com/hook", eventTypes: ["invoice.paid"] });
    await createEndpoint(project.apiKey, { url: "https://test-other.example.com/hook" });
    const response = await client(project.apiKey)("POST", `/endpoints/${target.id}/test`, { payload: { hello: "world" } });
    expect(response.status).toBe(202);
    expect(response.body.deliveries.map((d: any) => d.endpointId)).toEqual([target.id]);
    const request = await nextRequest("https://test-target.example.com/", 1);
    expect(JSON.parse(request.body)).toMatchObject({ type: "ferry.test", data: { hello: "world" } });
    expect(receivers.requests("https://test-other.example.com/")).toHaveLength(0);
  });
});
