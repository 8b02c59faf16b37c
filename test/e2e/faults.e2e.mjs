// Receiver faults end to end on the real local stack: every way a customer's endpoint can misbehave ends the
// way Ferry promises, and the attempt log says what happened in words a person debugging can act on.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { freePort } from "../../scripts/lib/ports.mjs";
import { startStack } from "../../scripts/lib/stack.mjs";
import { pollUntil } from "../../scripts/lib/wait.mjs";
import { startMailChannels } from "./support/mailchannels.mjs";
import { startReceiver } from "./support/receiver.mjs";

/** A first retry after ~1 s; Retry-After is clamped to [1, 60] s. */
const RETRY_SCHEDULE = "1,60";
const RESPONSE_BODY_LIMIT = 32 * 1024;

let stack, receiver, elsewhere, mail;

before(async () => {
  mail = await startMailChannels();
  receiver = await startReceiver();
  elsewhere = await startReceiver();
  stack = await startStack({
    vars: { RETRY_SCHEDULE, MAILCHANNELS_API_URL: mail.url, MAILCHANNELS_API_KEY: mail.apiKey, SWEEP_GRACE_SECONDS: 5 },
    sweepEveryMs: 2000,
  });
});
after(async () => {
  await stack?.stop();
  await Promise.all([receiver?.close(), elsewhere?.close(), mail?.close()]);
});

const until = (what, check, timeoutMs = 30_000) => pollUntil(what, check, { timeoutMs, describe: () => stack.logs().slice(-3000) });

/** A project whose endpoints stay enabled through a few failures. */
async function newProject(name, settings = { circuitOpenAfter: 50, disableAfter: 100 }) {
  const { status, body: project, text } = await stack.api("POST", "/projects", { name, alertEmails: ["oncall@example.com"] }, stack.adminToken);
  assert.equal(status, 201, text);
  const api = stack.client(project.apiKey);
  const patched = await api("PATCH", "/project", settings);
  assert.equal(patched.status, 200, patched.text);
  return api;
}

/** One endpoint at `url`, one event; resolves with the delivery's id. */
async function deliverOnce(api, url, endpointFields = {}) {
  const endpoint = await api("POST", "/endpoints", { url, ...endpointFields });
  assert.equal(endpoint.status, 201, endpoint.text);
  const event = await api("POST", "/events", { eventType: "fault.probe", payload: { url } });
  assert.equal(event.status, 202, event.text);
  return { endpointId: endpoint.body.id, deliveryId: event.body.deliveries[0].id };
}

/** The delivery once it has at least `n` attempts recorded. */
function attemptsOf(api, deliveryId, n = 1, timeoutMs) {
  return until(`${n} attempt(s) of ${deliveryId}`, async () => {
    const { body } = await api("GET", `/deliveries/${deliveryId}`);
    return body.attempts?.length >= n && body;
  }, timeoutMs);
}

describe("receiver faults on the real stack", { concurrency: true }, () => {
  for (const [name, retryAfter] of [
    ["429 with Retry-After in seconds", () => "3"],
    ["503 with Retry-After as an HTTP date", () => new Date(Date.now() + 4000).toUTCString()],
  ]) {
    const status = name.startsWith("429") ? 429 : 503;
    test(`${name}: the retry waits as asked (not the 1 s schedule), then succeeds`, async () => {
      const api = await newProject(name);
      const path = `/retry-after/${status}`;
      receiver.route(path, (req) => (req.index === 0 ? { status, headers: { "Retry-After": retryAfter() }, body: "slow down" } : { status: 200 }));
      const { deliveryId } = await deliverOnce(api, receiver.url(path));
      const done = await until("the retried delivery to succeed", async () => {
        const { body } = await api("GET", `/deliveries/${deliveryId}`);
        return body.status === "succeeded" && body;
      });
      const [first, second] = receiver.requests(path);
      const gap = second.receivedAt - first.receivedAt;
      assert.ok(gap >= 2500 && gap < 15_000, `second attempt ${gap} ms after the first`);
      assert.equal(done.attempts[0].response.status, status);
      assert.match(done.attempts[0].error, new RegExp(`HTTP ${status}.*Retry-After`), "the log says the receiver asked to wait");
      assert.equal(done.attempts[1].response.status, 200);
    });
  }

  for (const status of [301, 302, 307]) {
    test(`${status} to another host is not followed and counts as a failed attempt`, async () => {
      const api = await newProject(`redirect ${status}`);
      const target = elsewhere.url(`/moved-${status}`).replace("127.0.0.1", "localhost");
      receiver.route(`/redirect/${status}`, { status, headers: { Location: target } });
      elsewhere.route(`/moved-${status}`, { status: 200 });
      const { deliveryId } = await deliverOnce(api, receiver.url(`/redirect/${status}`));
      const delivery = await attemptsOf(api, deliveryId);
      const [attempt] = delivery.attempts;
      assert.equal(attempt.response.status, status);
      assert.equal(attempt.response.headers.location, target);
      assert.equal(attempt.error, `HTTP ${status}: the endpoint redirects to ${target}; Ferry does not follow redirects, so point the endpoint at the final URL`);
      assert.notEqual(delivery.status, "succeeded");
      await new Promise((r) => setTimeout(r, 1500));
      assert.equal(elsewhere.requests(`/moved-${status}`).length, 0, "nothing reached the redirect's target");
    });
  }

  test("a hang past the endpoint's timeout ends as a timed-out attempt", async () => {
    const api = await newProject("hang");
    receiver.route("/hang", { hang: true });
    const { deliveryId } = await deliverOnce(api, receiver.url("/hang"), { timeoutMs: 1000 });
    const { attempts: [attempt], status } = await attemptsOf(api, deliveryId);
    assert.equal(attempt.response, null);
    assert.equal(attempt.error, "timed out after 1000 ms: the endpoint sent no response in time (its timeoutMs)");
    assert.ok(attempt.durationMs >= 950 && attempt.durationMs < 5000, `took ${attempt.durationMs} ms`);
    assert.notEqual(status, "succeeded");
    await until("the receiver to see the connection closed", async () => receiver.requests("/hang")[0]?.aborted);
  });

  test("an answer just under the timeout succeeds", async () => {
    const api = await newProject("almost");
    receiver.route("/almost", { status: 200, delayMs: 2000, body: "made it" });
    const { deliveryId } = await deliverOnce(api, receiver.url("/almost"), { timeoutMs: 3000 });
    const delivery = await attemptsOf(api, deliveryId);
    assert.equal(delivery.status, "succeeded");
    assert.equal(delivery.attempts.length, 1);
    assert.equal(delivery.attempts[0].response.body, "made it");
    assert.ok(delivery.attempts[0].durationMs >= 1900, `took ${delivery.attempts[0].durationMs} ms`);
  });

  test("a connection reset mid-response is a failed attempt that says so", async () => {
    const api = await newProject("reset");
    receiver.route("/reset", { status: 200, resetAfterBytes: 100 });
    const { deliveryId } = await deliverOnce(api, receiver.url("/reset"));
    const { attempts: [attempt], status } = await attemptsOf(api, deliveryId);
    assert.match(attempt.error, /^the connection was cut \(reset or closed\) while reading the body of an HTTP 200 answer/);
    assert.notEqual(status, "succeeded");
  });

  test("a 200 with a 10 MB body succeeds, keeping only the first 32 KB", async () => {
    const api = await newProject("huge body");
    const total = 10 * 1024 * 1024;
    receiver.route("/huge", { status: 200, streamBytes: total });
    const { deliveryId } = await deliverOnce(api, receiver.url("/huge"));
    const delivery = await attemptsOf(api, deliveryId);
    assert.equal(delivery.status, "succeeded");
    const [attempt] = delivery.attempts;
    assert.equal(attempt.response.body.length, RESPONSE_BODY_LIMIT);
    assert.equal(attempt.response.bodyTruncated, true);
    await until("the receiver to see Ferry hang up", async () => receiver.requests("/huge")[0]?.aborted !== undefined || receiver.requests("/huge")[0]?.bodyBytesWritten === total);
    const written = receiver.requests("/huge")[0].bodyBytesWritten;
    assert.ok(written < total, `Ferry stopped reading after the cap: the receiver wrote ${written} of ${total} bytes`);
  });

  test("a malformed HTTP response is a failed attempt that says so", async () => {
    const api = await newProject("malformed");
    receiver.route("/malformed", { raw: "this is not HTTP at all\r\n\r\n" });
    const { deliveryId } = await deliverOnce(api, receiver.url("/malformed"));
    const { attempts: [attempt], status } = await attemptsOf(api, deliveryId);
    assert.equal(attempt.response, null);
    // workerd reports an answer that is not HTTP with the same opaque error as a failed DNS lookup.
    assert.match(attempt.error, new RegExp(`^could not connect to 127\\.0\\.0\\.1:${receiver.port} or read its answer: .*the answer is not valid HTTP`));
    assert.doesNotMatch(attempt.error, /^internal error/);
    assert.notEqual(status, "succeeded");
  });

  test("a host name that does not resolve is a failed attempt that says so", async () => {
    const api = await newProject("nxdomain");
    const { deliveryId } = await deliverOnce(api, "http://ferry-fault-test.invalid/hook");
    const { attempts: [attempt], status } = await attemptsOf(api, deliveryId);
    assert.equal(attempt.response, null);
    assert.match(attempt.error, /^could not connect to ferry-fault-test\.invalid or read its answer: the host name may not resolve \(DNS\)/);
    assert.doesNotMatch(attempt.error, /internal error; reference/);
    assert.notEqual(status, "succeeded");
  });

  test("a port with nothing listening is a failed attempt that says so", async () => {
    const api = await newProject("refused");
    const port = await freePort();
    const { deliveryId } = await deliverOnce(api, `http://127.0.0.1:${port}/hook`);
    const { attempts: [attempt], status } = await attemptsOf(api, deliveryId);
    assert.equal(attempt.response, null);
    assert.match(attempt.error, new RegExp(`^could not connect to 127\\.0\\.0\\.1:${port}, or it closed the connection before answering: nothing may be listening on that port \\(connection refused\\)`));
    assert.doesNotMatch(attempt.error, /^Network connection lost\.$/);
    assert.notEqual(status, "succeeded");
  });

  test("MailChannels answering 500 during a disable: the alert goes out once it answers again, exactly once", async () => {
    const api = await newProject("mail outage", { circuitOpenAfter: 10, disableAfter: 2, disableAfterSeconds: 0 });
    receiver.route("/dead", { status: 500, body: "down" });
    mail.failNext(1_000, 500);
    const { endpointId } = await deliverOnce(api, receiver.url("/dead"));
    await until("the endpoint to be disabled", async () => (await api("GET", `/endpoints/${endpointId}`)).body.status === "disabled");
    await until("MailChannels to be tried and fail", async () => {
      const { body } = await api("GET", "/alerts");
      return body.data.some((a) => a.kind === "endpoint.disabled" && a.status === "pending" && a.lastError);
    });
    const failedRequests = mail.requestCount;
    mail.failNext(0);
    const [email] = await mail.waitForEmails(1, 60_000);
    assert.match(email.subject, /Endpoint disabled/);
    // The DO alarm and the cron backstop both look at the outbox; the lease lets only one of them send.
    await new Promise((r) => setTimeout(r, 5000));
    assert.equal(mail.emails().length, 1, "exactly one email");
    assert.ok(failedRequests >= 1);
    const { body } = await api("GET", "/alerts");
    assert.deepEqual(body.data.filter((a) => a.kind === "endpoint.disabled").map((a) => a.status), ["sent"]);
  });
});
