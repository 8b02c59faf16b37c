import { afterEach, describe, expect, it, vi } from "vitest";
import { ConnectionLimiter, WEBHOOK_CONNECTIONS } from "../../../workers/outbound/connection-limiter";
import { postWebhook } from "../../../workers/outbound/post-webhook";
import { sixConnectionNetwork } from "../helpers";

afterEach(() => vi.restoreAllMocks());

const isHanging = (url: string) => url.startsWith("https://hanging-");
/** Hanging endpoints wait longer than the healthy ones' timeout, as a 30 s endpoint does beside a 5 s one. */
const post = (url: string, connection: { release(): void }) => postWebhook({ url, headers: {}, body: "{}", timeoutMs: isHanging(url) ? 600 : 300, connection });
const hanging = Array.from({ length: 6 }, (_, i) => `https://hanging-${i}.example.com/hook`);
const healthy = Array.from({ length: 10 }, (_, i) => `https://healthy-${i}.example.com/hook`);

describe("the connection limiter", () => {
  it("the fake network shows the failure: sends started together queue behind six hanging ones and time out unsent", async () => {
    const network = sixConnectionNetwork(isHanging);
    const noLimit = { release: () => {} };
    const results = await Promise.all([...hanging, ...healthy].map((url) => post(url, noLimit)));
    expect(results.slice(6).filter((r) => r.kind === "error" && /timed out/.test(r.error))).toHaveLength(10);
    expect(network.stats.timedOutInQueue).toBe(10);
  });

  it("with the limiter, no healthy send behind six hanging ones times out, and the runtime never queues a send", async () => {
    const network = sixConnectionNetwork(isHanging);
    const connections = new ConnectionLimiter();
    const results = await Promise.all([...hanging, ...healthy].map(async (url) => post(url, await connections.acquire())));
    expect(results.slice(0, 6).every((r) => r.kind === "error" && /timed out after 600 ms/.test(r.error))).toBe(true);
    expect(results.slice(6).map((r) => (r.kind === "response" ? r.response.status : r.error))).toEqual(healthy.map(() => 200));
    expect(network.stats).toMatchObject({ queued: 0, timedOutInQueue: 0, mostOpen: WEBHOOK_CONNECTIONS });
    expect(WEBHOOK_CONNECTIONS).toBeLessThan(6);
  });

  it("hands connections out first come, first served, at most `limit` at once", async () => {
    const connections = new ConnectionLimiter(2);
    const order: number[] = [];
    const held = await Promise.all([connections.acquire(), connections.acquire()]);
    const later = [3, 4, 5].map((n) => connections.acquire().then((connection) => (order.push(n), connection)));
    await Promise.resolve();
    expect(order).toEqual([]);
    held[0].release();
    held[0].release(); // a second release gives back nothing more
    const third = await later[0];
    await Promise.resolve();
    expect(order).toEqual([3]);
    held[1].release();
    third.release();
    (await later[1]).release();
    (await later[2]).release();
    expect(order).toEqual([3, 4, 5]);
  });

  it("a send gives its connection back when the headers arrive, while its body is still being read", async () => {
    let secondSent!: () => void;
    const secondWasSent = new Promise<void>((resolve) => (secondSent = resolve));
    vi.spyOn(globalThis, "fetch").mockImplementation(async (input) => {
      if (String(input).includes("second")) {
        secondSent();
        return new Response("second");
      }
      // This body ends only once the second request has left, which needs the only connection.
      const body = new ReadableStream<Uint8Array>({
        async start(controller) {
          controller.enqueue(new TextEncoder().encode("first, "));
          await secondWasSent;
          controller.enqueue(new TextEncoder().encode("done"));
          controller.close();
        },
      });
      return new Response(body);
    });
    const connections = new ConnectionLimiter(1);
    const first = connections.acquire().then((connection) => postWebhook({ url: "https://first.example.com/", headers: {}, body: "{}", timeoutMs: 5000, connection }));
    const second = connections.acquire().then((connection) => postWebhook({ url: "https://second.example.com/", headers: {}, body: "{}", timeoutMs: 5000, connection }));
    const [a, b] = await Promise.all([first, second]);
    expect(a).toMatchObject({ kind: "response", response: { body: "first, done" } });
    expect(b).toMatchObject({ kind: "response", response: { body: "second" } });
  });

  it("a failed send gives its connection back", async () => {
    vi.spyOn(globalThis, "fetch").mockRejectedValue(new TypeError("Network connection lost."));
    const connections = new ConnectionLimiter(1);
    expect((await post("https://down.example.com/", await connections.acquire())).kind).toBe("error");
    expect((await post("https://down.example.com/", await connections.acquire())).kind).toBe("error");
  });
});
