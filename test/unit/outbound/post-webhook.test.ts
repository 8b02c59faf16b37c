import { afterEach, describe, expect, it, vi } from "vitest";
import { RESPONSE_BODY_LIMIT, postWebhook } from "../../../workers/outbound/post-webhook";

afterEach(() => vi.restoreAllMocks());

/** These tests are about the exchange itself; connection-limiter.test.ts covers when a connection is given back. */
const connection = { release: () => {} };
const request = { url: "https://receiver.example.com/hook", headers: { "content-type": "application/json", "webhook-id": "evt_1" }, body: '{"a":1}', timeoutMs: 5000, connection };

function answer(respond: (init: RequestInit) => Response | Promise<Response>) {
  const seen: { url: string; init: RequestInit }[] = [];
  vi.spyOn(globalThis, "fetch").mockImplementation(async (input, init) => {
    seen.push({ url: String(input instanceof Request ? input.url : input), init: init ?? {} });
    return respond(init ?? {});
  });
  return seen;
}

/** A response whose body arrives in several chunks, as a real network read would. */
function chunked(total: number, chunkSize: number, status = 200, headers: Record<string, string> = {}) {
  let sent = 0;
  const stream = new ReadableStream<Uint8Array>({
    pull(controller) {
      if (sent >= total) return controller.close();
      const size = Math.min(chunkSize, total - sent);
      controller.enqueue(new TextEncoder().encode("b".repeat(size)));
      sent += size;
    },
  });
  return new Response(stream, { status, headers });
}

describe("postWebhook", () => {
  it("POSTs the body and headers without following redirects", async () => {
    const seen = answer(() => new Response("ok", { headers: { "x-receiver": "yes" } }));
    const result = await postWebhook(request);
    expect(seen).toHaveLength(1);
    expect(seen[0].init).toMatchObject({ method: "POST", body: '{"a":1}', redirect: "manual", headers: request.headers });
    expect(result).toMatchObject({ kind: "response", response: { status: 200, body: "ok", bodyTruncated: false, headers: { "x-receiver": "yes" } } });
  });

  it("reports a redirect as the 3xx it is", async () => {
    answer(() => new Response(null, { status: 302, headers: { location: "https://elsewhere.example.com/" } }));
    const result = await postWebhook(request);
    expect(result).toMatchObject({ kind: "response", response: { status: 302, headers: { location: "https://elsewhere.example.com/" } } });
  });

  it.each([
    ["well under the limit", 1000, 1000, false, {}],
    ["exactly the limit", RESPONSE_BODY_LIMIT, RESPONSE_BODY_LIMIT, false, {}],
    ["one byte over", RESPONSE_BODY_LIMIT + 1, RESPONSE_BODY_LIMIT, true, {}],
    ["far over", 200_000, RESPONSE_BODY_LIMIT, true, {}],
    ["under the limit, its length declared", 1000, 1000, false, { "content-length": "1000" }],
    ["far over, its length declared", 200_000, RESPONSE_BODY_LIMIT, true, { "content-length": "200000" }],
    // Decompressed, a body can be far longer than its declared (compressed) length.
    ["far over, compressed to a declared length under the limit", 200_000, RESPONSE_BODY_LIMIT, true, { "content-length": "1000", "content-encoding": "gzip" }],
  ])("keeps at most 32 KB of the response body: %s", async (_, size, kept, truncated, headers) => {
    expect(RESPONSE_BODY_LIMIT).toBe(32 * 1024);
    answer(() => chunked(size, 7000, 500, headers));
    const result = await postWebhook(request);
    if (result.kind !== "response") throw new Error(result.error);
    expect(result.response.body.length).toBe(kept);
    expect(result.response.bodyTruncated).toBe(truncated);
    expect(result.response.status).toBe(500);
  });

  it("gives up after the endpoint's timeout", async () => {
    answer(
      (init) =>
        new Promise<Response>((_, reject) => {
          init.signal?.addEventListener("abort", () => reject(init.signal?.reason));
        }),
    );
    const result = await postWebhook({ ...request, timeoutMs: 150 });
    expect(result).toMatchObject({ kind: "error", error: "timed out after 150 ms: the endpoint sent no response in time (its timeoutMs)" });
    expect(result.durationMs).toBeGreaterThanOrEqual(100);
  });

  it.each([
    ["a refused or dropped connection", "Network connection lost.", /^could not connect to receiver\.example\.com, or it closed the connection before answering: nothing may be listening/],
    ["workerd's opaque internal error (DNS, TLS, not HTTP)", "internal error; reference = abc123", /^could not connect to receiver\.example\.com or read its answer: the host name may not resolve \(DNS\).*\(runtime reference abc123\)$/],
    ["anything else", "boom", /^could not complete the request to receiver\.example\.com: boom$/],
  ])("explains a network failure before any answer: %s", async (_, message, explained) => {
    answer(() => {
      throw new Error(message);
    });
    const result = await postWebhook(request);
    expect(result.kind).toBe("error");
    if (result.kind === "error") expect(result.error).toMatch(explained);
  });

  it("explains a connection cut while reading the body, naming the status that had arrived", async () => {
    let sent = false;
    const body = new ReadableStream<Uint8Array>({
      pull(controller) {
        if (sent) return controller.error(new Error("Network connection lost."));
        sent = true;
        controller.enqueue(new TextEncoder().encode("partial"));
      },
    });
    answer(() => new Response(body, { status: 200 }));
    const result = await postWebhook(request);
    expect(result).toMatchObject({ kind: "error", error: expect.stringMatching(/^the connection was cut \(reset or closed\) while reading the body of an HTTP 200 answer/) });
  });
});
