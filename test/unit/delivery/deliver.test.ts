import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { client, createEndpoint, createProject, eventually, fakeReceivers, sendEvent, sleep } from "../helpers";

// One fake network for the whole file: every test uses its own receiver host, so the tests run concurrently.
let receivers: ReturnType<typeof fakeReceivers>;
beforeAll(() => {
  receivers = fakeReceivers();
});
afterAll(() => receivers.restore());

/** A project with one endpoint at `url`, optionally with its own retry schedule. */
async function setup(url: string, options: { retrySchedule?: number[]; endpoint?: Record<string, unknown> } = {}) {
  const project = await createProject("retries");
  const call = client(project.apiKey);
  if (options.retrySchedule) expect((await call("PATCH", "/project", { retrySchedule: options.retrySchedule })).status).toBe(200);
  const endpoint = await createEndpoint(project.apiKey, { url, ...options.endpoint });
  const send = async (payload: unknown = { n: 1 }) => (await sendEvent(project.apiKey, { eventType: "retry.test", payload })).deliveries[0].id;
  const get = async (id: string) => (await call("GET", `/deliveries/${id}`)).body;
  const until = (id: string, check: (delivery: any) => boolean, timeoutMs = 10_000) =>
    eventually(async () => {
      const delivery = await get(id);
      return check(delivery) && delivery;
    }, timeoutMs);
  return { project, call, endpoint, send, get, until };
}

/** The wait the consumer chose after an attempt: from the end of that attempt to the next one. */
const waitAfter = (delivery: any) => Date.parse(delivery.nextAttemptAt) - Date.parse(delivery.attempts.at(-1).startedAt) - delivery.attempts.at(-1).durationMs;

describe.concurrent("a failing receiver", { timeout: 25_000 }, () => {
  it("makes the delivery `retrying`, due 5 s ±20 % later under the default schedule, with the attempt recorded", async () => {
    receivers.on("https://fail-once.example.com/", (_, n) => (n === 1 ? new Response("boom", { status: 500, headers: { "x-trace": "t1" } }) : new Response("ok")));
    const { send, until } = await setup("https://fail-once.example.com/hook", { endpoint: { headers: { "X-Custom": "c", Authorization: "Bearer receiver-token" } } });
    const id = await send({ order: 7 });
    const delivery = await until(id, (d) => d.status === "retrying" && d.attempts.length === 1);

    expect(delivery).toMatchObject({ attemptCount: 1, lastStatusCode: 500, lastError: "HTTP 500" });
    expect(waitAfter(delivery)).toBeGreaterThanOrEqual(4000);
    expect(waitAfter(delivery)).toBeLessThanOrEqual(6000);

    const [received] = receivers.requests("https://fail-once.example.com/");
    const [attempt] = delivery.attempts;
    expect(attempt).toMatchObject({ attempt: 1, trigger: "scheduled", error: null, response: { status: 500, body: "boom", bodyTruncated: false, headers: { "x-trace": "t1" } } });
    expect(attempt.request.url).toBe("https://fail-once.example.com/hook");
    expect(attempt.request.body).toBe(received.body);
    expect(JSON.parse(attempt.request.body).data).toEqual({ order: 7 });
    const recorded = Object.fromEntries(Object.entries(attempt.request.headers as Record<string, string>).map(([name, value]) => [name.toLowerCase(), value]));
    for (const name of ["content-type", "user-agent", "webhook-id", "webhook-timestamp", "webhook-signature", "x-custom"]) {
      expect(recorded[name], name).toBe(received.headers[name]);
    }
    // The receiver got the credential it needs; the attempt log does not keep it.
    expect(received.headers.authorization).toBe("Bearer receiver-token");
    expect(JSON.stringify(attempt.request.headers)).not.toContain("receiver-token");
  });

  it("ends `failed` after the project's schedule, every attempt recorded with the same body", async () => {
    receivers.on("https://always-fails.example.com/", () => new Response("nope", { status: 503 }));
    const { send, until } = await setup("https://always-fails.example.com/hook", { retrySchedule: [1] });
    const id = await send();
    const failed = await until(id, (d) => d.status === "failed");
    expect(failed).toMatchObject({ attemptCount: 2, nextAttemptAt: null, lastStatusCode: 503 });
    expect(failed.attempts.map((a: any) => [a.attempt, a.trigger, a.response.status])).toEqual([
      [1, "scheduled", 503],
      [2, "scheduled", 503],
    ]);
    const received = receivers.requests("https://always-fails.example.com/");
    expect(received).toHaveLength(2);
    expect(received[1].body).toBe(received[0].body);
    expect(received[1].headers["webhook-id"]).toBe(received[0].headers["webhook-id"]);
    expect(received[1].at - received[0].at).toBeGreaterThanOrEqual(800);
  });

  it("a resend of a failed delivery is a `manual` attempt with a fresh schedule; attempt numbers keep counting", async () => {
    receivers.on("https://resend.example.com/", () => new Response("still down", { status: 500 }));
    const { call, send, until } = await setup("https://resend.example.com/hook", { retrySchedule: [1] });
    const id = await send();
    await until(id, (d) => d.status === "failed" && d.attemptCount === 2);

    const resent = await call("POST", `/deliveries/${id}/resend`);
    expect(resent.status).toBe(202);
    // The fresh schedule gives it one more retry after the manual attempt, then it fails again.
    const again = await until(id, (d) => d.status === "failed" && d.attemptCount === 4, 15_000);
    expect(again.attempts.map((a: any) => [a.attempt, a.trigger])).toEqual([
      [1, "scheduled"],
      [2, "scheduled"],
      [3, "manual"],
      [4, "scheduled"],
    ]);

    receivers.on("https://resend.example.com/", () => new Response("back"));
    expect((await call("POST", `/deliveries/${id}/resend`)).status).toBe(202);
    const succeeded = await until(id, (d) => d.status === "succeeded");
    expect(succeeded.attemptCount).toBe(5);
    expect(succeeded.attempts.at(-1)).toMatchObject({ attempt: 5, trigger: "manual", response: { status: 200, body: "back" } });
    expect(receivers.requests("https://resend.example.com/")).toHaveLength(5);
  });

  it("a resend of a succeeded delivery sends it again", async () => {
    receivers.on("https://resend-ok.example.com/", () => new Response("ok"));
    const { call, send, until } = await setup("https://resend-ok.example.com/hook");
    const id = await send();
    await until(id, (d) => d.status === "succeeded");
    expect((await call("POST", `/deliveries/${id}/resend`)).status).toBe(202);
    const again = await until(id, (d) => d.status === "succeeded" && d.attemptCount === 2);
    expect(again.attempts[1].trigger).toBe("manual");
  });

  it("stores at most 32 KB of the response body and flags the cut", async () => {
    receivers.on("https://big-answer.example.com/", () => new Response("z".repeat(40_000), { status: 500 }));
    const { send, until } = await setup("https://big-answer.example.com/hook");
    const delivery = await until(await send(), (d) => d.attempts.length === 1);
    expect(delivery.attempts[0].response.body).toBe("z".repeat(32 * 1024));
    expect(delivery.attempts[0].response.bodyTruncated).toBe(true);
  });

  it("counts a 3xx as a failure and does not follow the redirect", async () => {
    receivers.on("https://moved.example.com/", () => new Response(null, { status: 302, headers: { location: "https://elsewhere.example.com/hook" } }));
    receivers.on("https://elsewhere.example.com/", () => new Response("ok"));
    const { send, until } = await setup("https://moved.example.com/hook");
    const delivery = await until(await send(), (d) => d.attempts.length === 1);
    expect(delivery).toMatchObject({ status: "retrying", lastStatusCode: 302, lastError: expect.stringMatching(/redirect/i) });
    expect(receivers.requests("https://moved.example.com/")[0].redirect).toBe("manual");
    expect(receivers.requests("https://elsewhere.example.com/")).toHaveLength(0);
  });

  it("a network error is recorded as the attempt's error, with no response", async () => {
    receivers.on("https://unreachable.example.com/", () => {
      throw new TypeError("Network connection lost.");
    });
    const { send, until } = await setup("https://unreachable.example.com/hook");
    const delivery = await until(await send(), (d) => d.attempts.length === 1);
    const explained = "could not connect to unreachable.example.com, or it closed the connection before answering: nothing may be listening on that port (connection refused), or the server dropped the request";
    expect(delivery).toMatchObject({ status: "retrying", lastStatusCode: null, lastError: explained });
    expect(delivery.attempts[0]).toMatchObject({ response: null, error: explained });
  });
});

describe.concurrent("Retry-After", { timeout: 25_000 }, () => {
  it.each([
    ["429", 429, "30", 30_000],
    ["503", 503, "45", 45_000],
    ["429 asking for more than the schedule's largest step", 429, "86400", 60_000],
    ["429 asking for less than the smallest step", 429, "0", 10_000],
  ])("%s is honoured, clamped to the schedule", async (_, status, retryAfter, expected) => {
    const host = `https://retry-after-${status}-${retryAfter}.example.com/`;
    receivers.on(host, () => new Response("slow down", { status, headers: { "retry-after": retryAfter } }));
    const { send, until } = await setup(`${host}hook`, { retrySchedule: [10, 60] });
    const delivery = await until(await send(), (d) => d.status === "retrying");
    expect(waitAfter(delivery)).toBe(expected);
  });

  it("is ignored on other statuses", async () => {
    receivers.on("https://retry-after-500.example.com/", () => new Response("", { status: 500, headers: { "retry-after": "50" } }));
    const { send, until } = await setup("https://retry-after-500.example.com/hook", { retrySchedule: [10, 60] });
    const delivery = await until(await send(), (d) => d.status === "retrying");
    expect(waitAfter(delivery)).toBeGreaterThanOrEqual(8000);
    expect(waitAfter(delivery)).toBeLessThanOrEqual(12_000);
  });
});

describe.concurrent("what labels and ends an attempt", { timeout: 25_000 }, () => {
  it("the first send after an endpoint is re-enabled is `scheduled`; only a person's resend is `manual`", async () => {
    let up = false;
    receivers.on("https://reenabled.example.com/", () => (up ? new Response("ok") : new Response("down", { status: 500 })));
    const { call, endpoint, send, until } = await setup("https://reenabled.example.com/hook", { retrySchedule: [1, 1, 1, 1, 1] });
    const id = await send();
    await until(id, (d) => d.attempts.length >= 1);
    expect((await call("POST", `/endpoints/${endpoint.id}/disable`)).status).toBe(200);
    await until(id, (d) => d.status === "paused");
    up = true;
    expect((await call("POST", `/endpoints/${endpoint.id}/enable`)).status).toBe(200);
    const delivered = await until(id, (d) => d.status === "succeeded");
    expect(delivered.attempts.map((a: any) => a.trigger)).toEqual(delivered.attempts.map(() => "scheduled"));
  });

  it("a secret that cannot sign fails the attempt (nothing is sent) and the schedule still ends", async () => {
    const { database } = await import("../../../workers/db/client");
    const { endpoints } = await import("../../../workers/db/schema");
    const { eq } = await import("drizzle-orm");
    const { env } = await import("cloudflare:workers");
    const { send, endpoint, until } = await setup("https://unsignable.example.com/hook", { retrySchedule: [1] });
    await database(env).update(endpoints).set({ secrets: [{ value: "whsec_%%%not-base64", createdAt: Date.now(), expiresAt: null }] }).where(eq(endpoints.id, endpoint.id));
    const failed = await until(await send(), (d) => d.status === "failed");
    expect(failed.attempts).toHaveLength(2);
    expect(failed.attempts[0]).toMatchObject({ response: null });
    expect(failed.attempts[0].error).toMatch(/could not be signed/);
    expect(receivers.requests("https://unsignable.example.com/")).toHaveLength(0);
  });
});

describe("the slow lane", { timeout: 40_000 }, () => {
  it("sends to an endpoint that has become slow from its DO, so the queue's next batch is not held behind it", async () => {
    receivers.on("https://slow-lane.example.com/", async (_, n) => {
      await new Promise((resolve) => setTimeout(resolve, n === 1 ? 5_200 : 8_000));
      return new Response("slow but fine");
    });
    receivers.on("https://quick-lane.example.com/", () => new Response("ok"));
    const { call, endpoint, send, until, project } = await setup("https://slow-lane.example.com/hook");
    const quick = await createEndpoint(project.apiKey, { url: "https://quick-lane.example.com/hook", eventTypes: ["quick.test"] });
    await call("PATCH", `/endpoints/${endpoint.id}`, { eventTypes: ["retry.test"] });

    // The first send is made by the consumer and takes over 5 s: from then on the endpoint is slow.
    await until(await send(), (d) => d.status === "succeeded", 15_000);
    expect((await call("GET", `/endpoints/${endpoint.id}`)).body.health.slow).toBe(true);

    const slowId = await send();
    await sleep(1_500);
    const sentAt = Date.now();
    const quickId = (await sendEvent(project.apiKey, { eventType: "quick.test", payload: {} })).deliveries[0].id;
    await until(quickId, (d) => d.status === "succeeded", 10_000);
    // Behind an 8 s send in the consumer's batch this would take over 6 s.
    expect(Date.now() - sentAt).toBeLessThan(4_000);
    expect(quick.id).toBeTruthy();
    const slow = await until(slowId, (d) => d.status === "succeeded", 20_000);
    expect(slow.attempts).toHaveLength(1);
  });
});
