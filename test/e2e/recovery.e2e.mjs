// Crash recovery on the real stack: SIGKILL the whole local runtime while deliveries are queued, in flight
// and waiting to be retried, start it again on the same state, and every event arrives within 15 s of the
// restart, with no delivery ever sent twice at the same time.
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { startStack } from "../../scripts/lib/stack.mjs";
import { pollUntil } from "../../scripts/lib/wait.mjs";
import { startReceiver } from "./support/receiver.mjs";

const EVENTS = 60;
const RECOVERY_BUDGET_MS = 15_000;
const ANSWER_AFTER_MS = 200;

let stack, receiver;
before(async () => {
  receiver = await startReceiver();
  // As `npm run dev` does: a sweep every 5 s; a retry 2 s after a failure.
  stack = await startStack({ vars: { RETRY_SCHEDULE: "2,2,2" }, sweepEveryMs: 5000 });
});
after(async () => {
  await stack?.stop();
  await receiver?.close();
});

test("after a SIGKILL of the runtime and a restart on the same state, every event arrives within 15 s, never sent twice at once", async () => {
  const seenOnce = new Set();
  receiver.route("/a", { status: 200, delayMs: ANSWER_AFTER_MS });
  receiver.route("/b", { status: 200, delayMs: ANSWER_AFTER_MS });
  // Fails each event's first attempt, so retries are waiting (on delayed queue messages) at the crash.
  receiver.route("/retry", (req) => {
    const id = String(req.headers["webhook-id"]);
    if (seenOnce.has(id)) return { status: 200, delayMs: ANSWER_AFTER_MS };
    seenOnce.add(id);
    return { status: 500 };
  });
  const { body: project } = await stack.api("POST", "/projects", { name: "crash" }, stack.adminToken);
  const api = stack.client(project.apiKey);
  // Every first attempt to /retry fails on purpose: keep its circuit closed so only the crash holds things up.
  assert.equal((await api("PATCH", "/project", { circuitOpenAfter: 1000, disableAfter: 100000 })).status, 200);
  for (const p of ["/a", "/b", "/retry"]) assert.equal((await api("POST", "/endpoints", { url: receiver.url(p) })).status, 201);

  const ids = [];
  for (let i = 0; i < EVENTS; i += 20) {
    const events = Array.from({ length: 20 }, (_, j) => ({ eventType: "crash.test", payload: { n: i + j } }));
    const res = await api("POST", "/events/batch", { events });
    assert.equal(res.status, 202, res.text);
    ids.push(...res.body.events.map((e) => e.id));
  }
  // Kill it mid-stream: some delivered, some in flight, most still queued or waiting for their retry.
  await pollUntil("the first deliveries", async () => receiver.requests().length >= 15, { timeoutMs: 60_000 });
  const { readyAt } = await stack.crashAndRestart();
  const before = receiver.requests().length;
  await stack.sweep(); // npm run dev sweeps once at start

  const arrivedEverywhere = () => {
    const ok = (p) => new Set(receiver.requests(p).filter((r) => r.status === 200).map((r) => String(r.headers["webhook-id"])));
    const sets = ["/a", "/b", "/retry"].map(ok);
    return ids.every((id) => sets.every((s) => s.has(id)));
  };
  const missing = async () => {
    const { body } = await api("GET", "/deliveries?limit=250");
    const states = body.data.reduce((acc, d) => ({ ...acc, [d.status]: (acc[d.status] ?? 0) + 1 }), {});
    return `delivery states: ${JSON.stringify(states)}`;
  };
  await pollUntil("every event at every endpoint", async () => arrivedEverywhere(), { timeoutMs: 60_000, intervalMs: 100 }).catch(async (error) => {
    throw new Error(`${error.message}\n${await missing()}\n${stack.logs().slice(-2000)}`);
  });
  const recoveredAfterMs = Math.max(...receiver.requests().map((r) => r.receivedAt)) - readyAt;

  // Two requests for the same event and endpoint whose answer windows overlap would be a concurrent double send.
  const overlaps = [];
  for (const p of ["/a", "/b", "/retry"]) {
    const byId = new Map();
    for (const r of receiver.requests(p)) byId.set(String(r.headers["webhook-id"]), [...(byId.get(String(r.headers["webhook-id"])) ?? []), r]);
    for (const [id, reqs] of byId) {
      reqs.sort((x, y) => x.receivedAt - y.receivedAt);
      for (let i = 1; i < reqs.length; i++) if (reqs[i].receivedAt < reqs[i - 1].receivedAt + ANSWER_AFTER_MS) overlaps.push(`${p} ${id}`);
    }
  }
  const sentAgain = ["/a", "/b"].reduce((n, p) => n + receiver.requests(p).length, 0) - 2 * EVENTS;
  console.log(JSON.stringify({ events: EVENTS, deliveries: EVENTS * 3, requestsBeforeCrash: before, recoveredAfterMs, sentAgainAfterCrash: sentAgain, overlaps: overlaps.length }));
  assert.deepEqual(overlaps, [], "no delivery was sent twice at the same time");
  assert.ok(recoveredAfterMs <= RECOVERY_BUDGET_MS, `the last event arrived ${recoveredAfterMs} ms after the restart`);
});
