// The official `svix` SDK, unchanged, against the real local stack's /svix API: applications, endpoints,
// messages (each webhook verified with the SDK's own Webhook class and the secret it returned), lists paged to
// the end, attempts, secret rotation, resend, recover, event types and a duplicate eventId.
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { ApiException, Svix, Webhook } from "svix";
import { startStack } from "../../scripts/lib/stack.mjs";
import { startReceiver } from "./support/receiver.mjs";

/** @type {import("../../scripts/lib/stack.mjs").Stack} */
let stack;
/** @type {import("./support/receiver.mjs").Receiver} */
let receiver;
/** @type {Svix} */
let svix;
before(async () => {
  receiver = await startReceiver();
  stack = await startStack({ vars: { RETRY_SCHEDULE: "1", ALLOW_PRIVATE_NETWORK: true } });
  const { body: project } = await stack.api("POST", "/projects", { name: "svix-e2e" }, stack.adminToken);
  svix = new Svix(project.apiKey, { serverUrl: `${stack.apiUrl}/svix` });
});
after(async () => {
  await stack?.stop();
  await receiver?.close();
});

/** Every request to `path` so far, each verified with `secret` by the SDK's Webhook class: their payloads. */
function verified(requests, secret) {
  return requests.map((request) => new Webhook(secret).verify(request.body, request.headers));
}

async function rejects(promise, status) {
  await assert.rejects(promise, (error) => error instanceof ApiException && error.code === status);
}

test("the Svix SDK creates, sends, lists, rotates, resends and recovers against Ferry", async () => {
  await svix.health.get();
  const app = await svix.application.create({ name: "Domino's", uid: "cus_dominos" });
  assert.equal(app.uid, "cus_dominos");
  assert.equal((await svix.application.getOrCreate({ name: "Domino's", uid: "cus_dominos" })).id, app.id);
  await rejects(svix.application.create({ name: "again", uid: "cus_dominos" }), 409);

  receiver.route("/svix/ok", { status: 200 });
  const endpoint = await svix.endpoint.create("cus_dominos", { url: receiver.url("/svix/ok"), uid: "main", filterTypes: ["order.placed", "order.paid"] });
  assert.deepEqual(endpoint.filterTypes, ["order.placed", "order.paid"]);
  const { key: secret } = await svix.endpoint.getSecret("cus_dominos", "main");

  const payloads = [0, 1, 2, 3, 4].map((i) => ({ order: i, note: "naïve <b>" }));
  const messages = [];
  for (const [i, payload] of payloads.entries()) {
    messages.push(await svix.message.create("cus_dominos", { eventType: "order.placed", eventId: `order-${i}`, payload, channels: ["ignored"] }));
  }
  await rejects(svix.message.create("cus_dominos", { eventType: "order.placed", eventId: "order-0", payload: {} }), 409);
  await svix.message.create("cus_dominos", { eventType: "order.ignored", payload: { filtered: true } });

  const received = await receiver.waitFor("/svix/ok", 5, 20_000);
  assert.deepEqual(
    verified(received, secret).sort((a, b) => a.order - b.order),
    payloads,
  );
  assert.deepEqual(received.map((r) => r.headers["webhook-id"]).sort(), messages.map((m) => m.id).sort());

  // Pagination to the end, newest first.
  const seen = [];
  let iterator;
  for (;;) {
    const page = await svix.message.list("cus_dominos", { limit: 2, iterator });
    seen.push(...page.data.map((m) => m.id));
    if (page.done) break;
    iterator = page.iterator;
  }
  assert.equal(seen.length, 6);
  assert.deepEqual(seen.slice(1).reverse(), messages.map((m) => m.id));
  assert.deepEqual((await svix.message.get("cus_dominos", "order-3")).payload, payloads[3]);

  // The receiver answers before Ferry records the attempts: wait until all five are recorded.
  for (let i = 0; i < 100 && (await svix.endpoint.getStats("cus_dominos", endpoint.id)).success < 5; i++) await new Promise((resolve) => setTimeout(resolve, 100));
  const attempts = await svix.messageAttempt.listByMsg("cus_dominos", messages[0].id);
  assert.equal(attempts.data.length, 1);
  assert.equal(attempts.data[0].status, 0);
  assert.equal(attempts.data[0].responseStatusCode, 200);
  const byEndpoint = await svix.messageAttempt.listByEndpoint("cus_dominos", endpoint.id, { limit: 250 });
  assert.equal(byEndpoint.data.length, 5);
  const attempted = await svix.messageAttempt.listAttemptedMessages("cus_dominos", endpoint.id);
  assert.ok(attempted.data.every((m) => m.status === 0));
  const destinations = await svix.messageAttempt.listAttemptedDestinations("cus_dominos", messages[0].id);
  assert.deepEqual(destinations.data.map((d) => d.id), [endpoint.id]);
  assert.equal((await svix.endpoint.getStats("cus_dominos", endpoint.id)).success, 5);

  // Rotation: the new secret verifies what is sent next.
  await svix.endpoint.rotateSecret("cus_dominos", "main", {});
  const { key: rotated } = await svix.endpoint.getSecret("cus_dominos", "main");
  assert.notEqual(rotated, secret);
  receiver.reset();
  await svix.messageAttempt.resend("cus_dominos", messages[1].id, endpoint.id);
  const [resent] = await receiver.waitFor("/svix/ok", 1, 20_000);
  assert.deepEqual(verified([resent], rotated), [payloads[1]]);
  // The receiver answers before Ferry records the attempt: wait for the record.
  let manual;
  for (let i = 0; i < 100 && (manual?.data.length ?? 0) < 2; i++) {
    manual = await svix.messageAttempt.listByMsg("cus_dominos", messages[1].id);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  assert.deepEqual(manual.data.map((a) => a.triggerType), [1, 0]);

  // Recover: a failing endpoint's failed messages are sent again once it answers.
  receiver.route("/svix/down", { status: 500 });
  const down = await svix.endpoint.create("cus_dominos", { url: receiver.url("/svix/down"), filterTypes: ["order.paid"] });
  const { key: downSecret } = await svix.endpoint.getSecret("cus_dominos", down.id);
  const since = new Date(Date.now() - 60_000);
  const paid = await svix.message.create("cus_dominos", { eventType: "order.paid", payload: { paid: true } });
  await receiver.waitFor("/svix/down", 2, 20_000);
  for (let i = 0; i < 100; i++) {
    if ((await svix.endpoint.getStats("cus_dominos", down.id)).fail === 1) break;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  const failedAttempts = await svix.messageAttempt.listByMsg("cus_dominos", paid.id, { endpointId: down.id, status: 2 });
  assert.equal(failedAttempts.data.length, 2);
  receiver.route("/svix/down", { status: 200 });
  const recovery = await svix.endpoint.recover("cus_dominos", down.id, { since });
  assert.equal(recovery.task, "endpoint.recover");
  const all = await receiver.waitFor("/svix/down", 3, 20_000);
  assert.deepEqual(verified([all[2]], downSecret), [{ paid: true }]);

  // Headers, update and delete.
  await svix.endpoint.updateHeaders("cus_dominos", "main", { headers: { "X-Tenant": "dominos", Authorization: "Bearer t" } });
  assert.deepEqual(await svix.endpoint.getHeaders("cus_dominos", "main"), { headers: { "X-Tenant": "dominos" }, sensitive: ["Authorization"] });
  const patched = await svix.endpoint.patch("cus_dominos", "main", { disabled: true, description: "paused" });
  assert.equal(patched.disabled, true);
  await svix.endpoint.delete("cus_dominos", down.id);
  await rejects(svix.endpoint.get("cus_dominos", down.id), 404);
});

test("event types round-trip through the SDK", async () => {
  await svix.eventType.create({ name: "order.placed", description: "An order was placed", schemas: { 1: { type: "object", examples: [{ order: 1 }] } } });
  await rejects(svix.eventType.create({ name: "order.placed", description: "twice" }), 409);
  const got = await svix.eventType.get("order.placed");
  assert.equal(got.description, "An order was placed");
  await svix.eventType.update("order.refunded", { description: "Refunded" });
  await svix.eventType.patch("order.placed", { deprecated: true });
  const names = [];
  let iterator;
  for (;;) {
    const page = await svix.eventType.list({ limit: 1, iterator });
    names.push(...page.data.map((t) => [t.name, t.deprecated]));
    if (page.done) break;
    iterator = page.iterator;
  }
  assert.deepEqual(names, [["order.placed", true], ["order.refunded", false]]);
  await svix.eventType.delete("order.refunded");
  assert.equal((await svix.eventType.list()).data.length, 1);
});
