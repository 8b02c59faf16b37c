// Smoke test for the harness itself: the real stack starts, is ours, and serves its OpenAPI document.
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { startStack } from "../../scripts/lib/stack.mjs";

/** @type {import("../../scripts/lib/stack.mjs").Stack} */
let stack;
before(async () => {
  stack = await startStack();
});
after(() => stack?.stop());

test("GET /healthz names the Ferry API", async () => {
  const res = await stack.api("GET", "/healthz");
  assert.equal(res.status, 200);
  assert.equal(res.body.ok, true);
  assert.equal(res.body.service, "ferry-api");
});

test("GET /api/v1/openapi.json serves an OpenAPI 3.1 document", async () => {
  const res = await stack.api("GET", "/openapi.json");
  assert.equal(res.status, 200, res.text.slice(0, 200));
  assert.match(String(res.body.openapi), /^3\.1/);
  assert.ok(Object.keys(res.body.paths ?? {}).length > 0, "the document lists paths");
});
