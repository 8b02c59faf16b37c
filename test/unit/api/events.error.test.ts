import { beforeAll, describe, expect, it } from "vitest";
import { client, createEndpoint, createProject, expectProblem, rowCounts } from "../helpers";

let call: ReturnType<typeof client>;
let endpointId: string;
beforeAll(async () => {
  const project = await createProject("ingest-errors");
  call = client(project.apiKey);
  endpointId = (await createEndpoint(project.apiKey, { url: "https://errors.example.com/hook" })).id;
});

/** Runs `request`, expects a problem of `status`, and checks that no event or delivery was written. */
async function rejectedWithNothingWritten(request: () => ReturnType<typeof call>, status: number) {
  const before = await rowCounts();
  const problem = expectProblem(await request(), status);
  const after = await rowCounts();
  expect(after.events).toBe(before.events);
  expect(after.deliveries).toBe(before.deliveries);
  return problem;
}

const LIMIT = 262_144;
const oversized = () => ({ blob: "x".repeat(LIMIT + 1) });

describe("POST /events rejects bad input with problem+json and writes nothing", () => {
  it("malformed JSON is a 400", async () => {
    await rejectedWithNothingWritten(() => call("POST", "/events", undefined, { raw: '{"eventType": "a.b", "payload": ' }), 400);
  });

  it("a body that is not sent as JSON is a 415", async () => {
    await rejectedWithNothingWritten(() => call("POST", "/events", undefined, { raw: "eventType=a.b", headers: { "content-type": "application/x-www-form-urlencoded" } }), 415);
    await rejectedWithNothingWritten(() => call("POST", "/events", undefined, { raw: '{"eventType":"a.b","payload":{}}', headers: { "content-type": "text/plain" } }), 415);
  });

  it("JSON with a charset parameter is accepted", async () => {
    const response = await call("POST", "/events", undefined, { raw: '{"eventType":"a.b","payload":{}}', headers: { "content-type": "application/json; charset=utf-8" } });
    expect(response.status).toBe(202);
  });

  it("a JSON array instead of an object is a 422", async () => {
    await rejectedWithNothingWritten(() => call("POST", "/events", [{ eventType: "a.b", payload: {} }]), 422);
  });

  it("a wrong type names the field", async () => {
    const problem = await rejectedWithNothingWritten(() => call("POST", "/events", { eventType: 42, payload: {} }), 422);
    expect(problem.errors?.map((e) => e.path)).toEqual(["eventType"]);
  });

  it("missing eventType and payload are both named", async () => {
    const problem = await rejectedWithNothingWritten(() => call("POST", "/events", {}), 422);
    expect(problem.errors?.map((e) => e.path).sort()).toEqual(["eventType", "payload"]);
  });

  it("an unknown field is named in errors[].path", async () => {
    const problem = await rejectedWithNothingWritten(() => call("POST", "/events", { eventType: "a.b", payload: {}, evenType: "typo" }), 422);
    expect(problem.errors).toContainEqual({ path: "evenType", message: expect.any(String) });
  });

  it.each(["", "invoice paid", "invoice/paid", "x".repeat(201), "ünïcode.event"])("eventType %j is refused", async (eventType) => {
    const problem = await rejectedWithNothingWritten(() => call("POST", "/events", { eventType, payload: {} }), 422);
    expect(problem.errors?.[0].path).toBe("eventType");
  });

  it("a wrongly typed idempotency key or endpointIds is a 422", async () => {
    await rejectedWithNothingWritten(() => call("POST", "/events", { eventType: "a.b", payload: {}, idempotencyKey: 7 }), 422);
    await rejectedWithNothingWritten(() => call("POST", "/events", { eventType: "a.b", payload: {}, endpointIds: endpointId }), 422);
    await rejectedWithNothingWritten(() => call("POST", "/events", { eventType: "a.b", payload: {}, endpointIds: [] }), 422);
  });

  it("a payload over the limit is a 413 naming `payload`", async () => {
    const problem = await rejectedWithNothingWritten(() => call("POST", "/events", { eventType: "a.b", payload: oversized() }), 413);
    expect(problem.errors?.[0].path).toBe("payload");
  });

  it("the limit counts bytes, not characters", async () => {
    // 140 000 × "é" is 280 000 bytes of UTF-8.
    const problem = await rejectedWithNothingWritten(() => call("POST", "/events", { eventType: "a.b", payload: "é".repeat(140_000) }), 413);
    expect(problem.errors?.[0].path).toBe("payload");
  });

  it("a payload exactly at the limit is accepted", async () => {
    // {"blob":"…"} has 11 bytes around the string.
    const response = await call("POST", "/events", { eventType: "a.b", payload: { blob: "x".repeat(LIMIT - 11) } });
    expect(response.status).toBe(202);
  });

  it("an unknown endpoint id is a 422 naming it", async () => {
    const problem = await rejectedWithNothingWritten(
      () => call("POST", "/events", { eventType: "a.b", payload: {}, endpointIds: [endpointId, "ep_doesnotexist"] }),
      422,
    );
    expect(problem.errors?.[0].path).toBe("endpointIds[1]");
  });
});

describe("POST /events/batch is all or nothing", () => {
  const good = (i: number) => ({ eventType: "batch.ok", payload: { i } });

  it("an oversized payload in the last event is a 413 naming events[i].payload, and no event is written", async () => {
    const problem = await rejectedWithNothingWritten(
      () => call("POST", "/events/batch", { events: [good(0), good(1), { eventType: "batch.big", payload: oversized() }] }),
      413,
    );
    expect(problem.errors?.[0].path).toBe("events[2].payload");
  });

  it("an invalid last event rejects the whole batch", async () => {
    const problem = await rejectedWithNothingWritten(() => call("POST", "/events/batch", { events: [good(0), good(1), { eventType: "bad type", payload: {} }] }), 422);
    expect(problem.errors?.[0].path).toBe("events[2].eventType");
  });

  it("an unknown field in the last event is named with its index", async () => {
    const problem = await rejectedWithNothingWritten(() => call("POST", "/events/batch", { events: [good(0), { ...good(1), extra: true }] }), 422);
    expect(problem.errors).toContainEqual({ path: "events[1].extra", message: expect.any(String) });
  });

  it("an unknown endpoint id in the last event rejects the batch", async () => {
    const problem = await rejectedWithNothingWritten(
      () => call("POST", "/events/batch", { events: [good(0), { ...good(1), endpointIds: ["ep_nope"] }] }),
      422,
    );
    expect(problem.errors?.[0].path).toBe("events[1].endpointIds[0]");
  });

  it("the same idempotency key twice in one batch is refused", async () => {
    const problem = await rejectedWithNothingWritten(
      () => call("POST", "/events/batch", { events: [{ ...good(0), idempotencyKey: "dup" }, { ...good(1), idempotencyKey: "dup" }] }),
      422,
    );
    expect(problem.errors?.[0].path).toBe("events[1].idempotencyKey");
  });

  it("more than 100 events, or none, is a 422", async () => {
    await rejectedWithNothingWritten(() => call("POST", "/events/batch", { events: Array.from({ length: 101 }, (_, i) => good(i)) }), 422);
    await rejectedWithNothingWritten(() => call("POST", "/events/batch", { events: [] }), 422);
  });

  it("malformed JSON is a 400", async () => {
    await rejectedWithNothingWritten(() => call("POST", "/events/batch", undefined, { raw: '{"events": [' }), 400);
  });
});

describe("reading events", () => {
  it("an unknown event id is a 404 problem", async () => {
    expectProblem(await call("GET", "/events/evt_nope"), 404);
  });

  it("a limit outside 1..250 is a 422", async () => {
    expectProblem(await call("GET", "/events?limit=0"), 422);
    expectProblem(await call("GET", "/events?limit=251"), 422);
    expectProblem(await call("GET", "/events?since=yesterday"), 422);
  });
});
