// End to end on the real local stack (the worker on workerd: API, queue consumer, D1) and a real HTTP receiver:
// fan-out to three endpoints with signatures that the `standardwebhooks` and `svix` packages verify unchanged,
// retries recorded attempt by attempt, resend, and a delivery that fails after the configured schedule.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { Webhook } from "standardwebhooks";
import { Webhook as SvixWebhook } from "svix";
import { startStack } from "../../scripts/lib/stack.mjs";
import { startReceiver } from "./support/receiver.mjs";

/** Three attempts in all: the first, then a retry after ~1 s and another after ~1 s (±20 %). */
const RETRY_SCHEDULE = "1,1";
const SPEC_SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";

/** @type {import("../../scripts/lib/stack.mjs").Stack} */
let stack;
/** @type {import("./support/receiver.mjs").Receiver} */
let receiver;
before(async () => {
  receiver = await startReceiver();
  stack = await startStack({ vars: { RETRY_SCHEDULE, ALLOW_PRIVATE_NETWORK: true } });
});
after(async () => {
  await stack?.stop();
  await receiver?.close();
});

async function until(check, what, timeoutMs = 20_000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}\n${stack.logs().slice(-3000)}`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

/** A project of its own for each test (they run concurrently), so fan-out stays within the test. */
async function newProject(name) {
  const { status, body: project, text } = await stack.api("POST", "/projects", { name }, stack.adminToken);
  assert.equal(status, 201, text);
  const api = stack.client(project.apiKey);
  return {
    api,
    async createEndpoint(body) {
      const res = await api("POST", "/endpoints", body);
      assert.equal(res.status, 201, res.text);
      return res.body;
    },
    async sendEvent(body) {
      const res = await api("POST", "/events", body);
      assert.equal(res.status, 202, res.text);
      return res.body;
    },
  };
}

/** Node gives header values as strings (or arrays for repeated ones); the verifiers want plain strings. */
const webhookHeaders = (request) => ({
  "webhook-id": String(request.headers["webhook-id"]),
  "webhook-timestamp": String(request.headers["webhook-timestamp"]),
  "webhook-signature": String(request.headers["webhook-signature"]),
});

function assertVerifies(secret, request) {
  const headers = webhookHeaders(request);
  const expected = JSON.parse(request.body);
  assert.deepEqual(new Webhook(secret).verify(request.body, headers), expected, "standardwebhooks verifies");
  assert.deepEqual(new SvixWebhook(secret).verify(request.body, headers), expected, "svix verifies");
  assert.throws(() => new Webhook(secret).verify(request.body.replace("}", " }"), headers), "a changed body does not verify");
}

describe("the spine on the real stack", { concurrency: true }, () => {
  test("an event reaches its 3 endpoints, signed so that standardwebhooks and svix verify it unchanged", async () => {
    const { api, createEndpoint, sendEvent } = await newProject("fan-out");
    receiver.route("/fan/a", { status: 200, body: "a" });
    receiver.route("/fan/b", { status: 204 });
    receiver.route("/fan/c", { status: 202, body: { ok: true } });
    receiver.route("/fan/other", { status: 200 });
    const a = await createEndpoint({ url: receiver.url("/fan/a") });
    const b = await createEndpoint({ url: receiver.url("/fan/b"), eventTypes: ["order.*"] });
    const c = await createEndpoint({ url: receiver.url("/fan/c"), eventTypes: ["order.created"], secret: SPEC_SECRET, headers: { "X-Shop": "s-1" } });
    await createEndpoint({ url: receiver.url("/fan/other"), eventTypes: ["user.*"] });

    const payload = { orderId: "o_1", total: 12.5, note: "crème brûlée ✓", lines: [{ sku: "A", qty: 2 }] };
    const event = await sendEvent({ eventType: "order.created", payload });
    assert.deepEqual(event.deliveries.map((d) => d.endpointId).sort(), [a.id, b.id, c.id].sort());

    const received = await Promise.all(["/fan/a", "/fan/b", "/fan/c"].map(async (path) => (await receiver.waitFor(path, 1, 15_000))[0]));
    const secrets = [a.secret, b.secret, SPEC_SECRET];
    received.forEach((request, i) => {
      assert.equal(request.method, "POST");
      assert.equal(request.headers["webhook-id"], event.id, "webhook-id is the event id on every endpoint");
      assert.equal(request.headers["content-type"], "application/json");
      assert.match(String(request.headers["user-agent"]), /^Ferry\//);
      assertVerifies(secrets[i], request);
      assert.deepEqual(JSON.parse(request.body), { type: "order.created", timestamp: event.createdAt, data: payload });
    });
    assert.equal(received[2].headers["x-shop"], "s-1");
    assert.equal(new Set(received.map((r) => r.body)).size, 1, "every endpoint gets the same bytes");

    const deliveries = await until(async () => {
      const { body } = await api("GET", `/deliveries?eventId=${event.id}`);
      return body.data.length === 3 && body.data.every((d) => d.status === "succeeded") && body.data;
    }, "the 3 deliveries to succeed");
    assert.deepEqual(deliveries.map((d) => d.attemptCount), [1, 1, 1]);
    assert.equal(receiver.requests("/fan/other").length, 0);
  });

  test("a receiver that fails twice then succeeds gets exactly 3 attempts, all recorded; resend makes a 4th", async () => {
    const { api, createEndpoint, sendEvent } = await newProject("flaky");
    receiver.route("/flaky", { failTimes: 2, failStatus: 500, body: "flaky failure", then: { status: 200, body: "finally" } });
    const endpoint = await createEndpoint({ url: receiver.url("/flaky") });
    const event = await sendEvent({ eventType: "invoice.paid", payload: { invoice: "in_1", amount: 4200 } });
    const deliveryId = event.deliveries[0].id;

    const done = await until(async () => {
      const { body } = await api("GET", `/deliveries/${deliveryId}`);
      return body.status === "succeeded" && body;
    }, "the flaky delivery to succeed");
    // Nothing more arrives once it has succeeded.
    await new Promise((resolve) => setTimeout(resolve, 2500));
    const received = receiver.requests("/flaky");
    assert.equal(received.length, 3);
    assert.equal(done.attemptCount, 3);
    assert.equal(done.attempts.length, 3);

    done.attempts.forEach((attempt, i) => {
      assert.equal(attempt.attempt, i + 1);
      assert.equal(attempt.trigger, "scheduled");
      assert.equal(attempt.error, null);
      assert.equal(attempt.request.url, endpoint.url);
      assert.equal(attempt.request.body, received[i].body, "the recorded body is what was sent");
      for (const name of ["webhook-id", "webhook-timestamp", "webhook-signature", "content-type", "user-agent"]) {
        assert.equal(attempt.request.headers[name], received[i].headers[name], `recorded ${name} of attempt ${i + 1}`);
      }
      assert.equal(attempt.response.status, i < 2 ? 500 : 200);
      assert.equal(attempt.response.body, i < 2 ? "flaky failure" : "finally");
      assert.equal(attempt.response.bodyTruncated, false);
      assert.equal(typeof attempt.durationMs, "number");
    });

    // The same bytes and id every attempt; a fresh timestamp (and so signature) each time.
    assert.equal(new Set(received.map((r) => r.body)).size, 1);
    assert.deepEqual(new Set(received.map((r) => r.headers["webhook-id"])), new Set([event.id]));
    const timestamps = received.map((r) => Number(r.headers["webhook-timestamp"]));
    assert.ok(timestamps[0] < timestamps[1] && timestamps[1] < timestamps[2], `timestamps increase: ${timestamps}`);
    for (const request of received) assertVerifies(endpoint.secret, request);

    const resent = await api("POST", `/deliveries/${deliveryId}/resend`);
    assert.equal(resent.status, 202, resent.text);
    await receiver.waitFor("/flaky", 4, 15_000);
    const afterResend = await until(async () => {
      const { body } = await api("GET", `/deliveries/${deliveryId}`);
      return body.attempts.length === 4 && body.status === "succeeded" && body;
    }, "the resend to be recorded");
    assert.equal(afterResend.attemptCount, 4);
    assert.deepEqual(
      afterResend.attempts.map((a) => [a.attempt, a.trigger, a.response?.status]),
      [
        [1, "scheduled", 500],
        [2, "scheduled", 500],
        [3, "scheduled", 200],
        [4, "manual", 200],
      ],
    );
    assert.equal(receiver.requests("/flaky")[3].body, received[0].body);
    assertVerifies(endpoint.secret, receiver.requests("/flaky")[3]);
  });

  test("a receiver that always fails ends `failed` after the configured schedule", async () => {
    const { api, createEndpoint, sendEvent } = await newProject("down");
    receiver.route("/down", { status: 503, body: "maintenance" });
    const { body: project } = await api("GET", "/project");
    assert.deepEqual(project.retrySchedule, [1, 1], "RETRY_SCHEDULE overrides the project's schedule");
    await createEndpoint({ url: receiver.url("/down") });
    const event = await sendEvent({ eventType: "invoice.voided", payload: { invoice: "in_2" } });

    const failed = await until(async () => {
      const { body } = await api("GET", `/deliveries/${event.deliveries[0].id}`);
      return body.status === "failed" && body;
    }, "the delivery to fail");
    await new Promise((resolve) => setTimeout(resolve, 2500));
    assert.equal(receiver.requests("/down").length, 3, "1 attempt + 2 retries");
    assert.equal(failed.attemptCount, 3);
    assert.equal(failed.nextAttemptAt, null);
    assert.equal(failed.lastStatusCode, 503);
    assert.deepEqual(
      failed.attempts.map((a) => [a.attempt, a.response.status, a.response.body]),
      [
        [1, 503, "maintenance"],
        [2, 503, "maintenance"],
        [3, 503, "maintenance"],
      ],
    );
    const gaps = failed.attempts.slice(1).map((a, i) => Date.parse(a.startedAt) - Date.parse(failed.attempts[i].startedAt));
    for (const gap of gaps) assert.ok(gap >= 800, `retries are spaced by the schedule: ${gaps}`);
  });
});
