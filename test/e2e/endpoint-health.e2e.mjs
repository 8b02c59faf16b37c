// End to end on the real local stack: a dead endpoint is disabled, exactly one alert email reaches a local
// MailChannels API, a healthy neighbour keeps receiving meanwhile, and enabling delivers what was paused.
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { Webhook } from "standardwebhooks";
import { startStack } from "../../scripts/lib/stack.mjs";
import { pollUntil } from "../../scripts/lib/wait.mjs";
import { startMailChannels } from "./support/mailchannels.mjs";
import { startReceiver } from "./support/receiver.mjs";

let stack, mail, receiver, api;

before(async () => {
  mail = await startMailChannels();
  receiver = await startReceiver();
  stack = await startStack({
    vars: { RETRY_SCHEDULE: "1,1,1,1,1,1", MAILCHANNELS_API_URL: mail.url, MAILCHANNELS_API_KEY: mail.apiKey, SWEEP_GRACE_SECONDS: 5 },
    sweepEveryMs: 2000,
  });
});
after(async () => {
  await stack?.stop();
  await receiver?.close();
  await mail?.close();
});

const until = (check, timeoutMs, what) => pollUntil(what, check, { timeoutMs, describe: () => stack.logs().slice(-3000) });

test("a failing endpoint is disabled with one email, its neighbour keeps flowing, and enable delivers the paused deliveries", async () => {
  receiver.route("/down", { status: 500, body: "database is down" });
  receiver.route("/healthy", { status: 200, body: "ok" });
  receiver.route("/meta", { status: 204 });

  const { body: project } = await stack.api("POST", "/projects", { name: "Paystack", alertEmails: ["oncall@example.com"] }, stack.adminToken);
  api = stack.client(project.apiKey);
  const patched = await api("PATCH", "/project", { circuitOpenAfter: 10, disableAfter: 3, disableAfterSeconds: 0, metaEndpointUrl: receiver.url("/meta") });
  assert.equal(patched.status, 200, patched.text);
  const { body: metaSecret } = await api("GET", `/endpoints/${patched.body.metaEndpointId}/secret`);

  const { body: down } = await api("POST", "/endpoints", { url: receiver.url("/down"), description: "dead" });
  const { body: healthy } = await api("POST", "/endpoints", { url: receiver.url("/healthy") });

  const sendEvents = async (n, tag) => {
    const ids = [];
    for (let i = 0; i < n; i++) {
      const res = await api("POST", "/events", { eventType: "charge.success", payload: { tag, i } });
      assert.equal(res.status, 202, res.text);
      ids.push(res.body.id);
    }
    return ids;
  };

  const firstWave = await sendEvents(4, "before");
  const disabled = await until(async () => {
    const { body } = await api("GET", `/endpoints/${down.id}`);
    return body.status === "disabled" && body;
  }, 40_000, "the endpoint to be disabled");
  assert.match(disabled.disabledReason, /consecutive failed attempts/);
  assert.ok(disabled.health.consecutiveFailures >= 3);
  assert.equal(disabled.health.lastStatusCode, 500);

  // New events while it is disabled: paused for the dead endpoint, delivered to the healthy one.
  const secondWave = await sendEvents(3, "while-disabled");
  for (const id of secondWave) {
    const { body: event } = await api("GET", `/events/${id}`);
    assert.equal(event.deliveries.find((d) => d.endpointId === down.id).status, "paused");
  }
  // The receiver sees a request a moment before its delivery is recorded, so wait for the records.
  await until(async () => {
    const { body } = await api("GET", `/deliveries?endpointId=${healthy.id}`);
    return body.data.length === 7 && body.data.every((d) => d.status === "succeeded");
  }, 20_000, "all 7 deliveries to the healthy endpoint to succeed");
  assert.equal(receiver.requests("/healthy").length, 7);
  const downRequestsWhileDisabled = receiver.requests("/down").length;

  // Exactly one email, through the MailChannels API, with what a person needs to triage.
  const [email] = await mail.waitForEmails(1, 20_000);
  await new Promise((r) => setTimeout(r, 3000));
  assert.equal(mail.emails().length, 1, "one email per disable, however many failures raced to disable it");
  assert.equal(email.headers["x-api-key"], mail.apiKey);
  assert.deepEqual(email.to, ["oncall@example.com"]);
  assert.equal(email.subject, `[Ferry] Endpoint disabled: ${receiver.url("/down")}`);
  for (const fact of [down.id, receiver.url("/down"), "Paystack", project.id, "Last status code: 500", "database is down", `/endpoints/${down.id}/enable`]) {
    assert.ok(email.text.includes(fact), `the email mentions ${fact}`);
  }
  assert.match(email.text, /Deliveries waiting: [1-9]/);
  assert.ok(email.html.includes("database is down"));
  const { body: alertList } = await api("GET", "/alerts");
  assert.deepEqual(alertList.data.map((a) => [a.kind, a.status]), [["endpoint.disabled", "sent"]]);

  // Fixed and re-enabled: every paused delivery goes out, and nothing was dropped.
  receiver.route("/down", { status: 200, body: "back" });
  const enabled = await api("POST", `/endpoints/${down.id}/enable`);
  assert.equal(enabled.status, 200, enabled.text);
  assert.equal(enabled.body.status, "active");
  assert.equal(enabled.body.health.consecutiveFailures, 0);
  await until(async () => {
    const { body } = await api("GET", `/deliveries?endpointId=${down.id}&limit=50`);
    return body.data.length === 7 && body.data.every((d) => d.status === "succeeded");
  }, 30_000, "every delivery to the re-enabled endpoint to succeed");
  const delivered = new Set(receiver.requests("/down").filter((r) => r.status === 200).map((r) => r.headers["webhook-id"]));
  assert.deepEqual([...delivered].sort(), [...firstWave, ...secondWave].sort());
  assert.equal(downRequestsWhileDisabled, receiver.requests("/down").filter((r) => r.status === 500).length, "nothing was sent to it while disabled");

  // Operational webhooks arrive signed with the meta endpoint's own secret.
  await until(async () => receiver.requests("/meta").length >= 2, 20_000, "the meta endpoint to get endpoint.disabled and endpoint.enabled");
  const verifier = new Webhook(metaSecret.secret);
  const metaTypes = receiver.requests("/meta").map((r) => verifier.verify(r.body, r.headers).type);
  assert.deepEqual(metaTypes.sort(), ["endpoint.disabled", "endpoint.enabled"]);
});
