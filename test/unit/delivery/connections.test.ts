import { env } from "cloudflare:workers";
import { afterEach, describe, expect, it } from "vitest";
import { endpointHealth } from "../../../workers/endpoint-health/client";
import { deliveryRow, runConsumer, seedDelivery, sixConnectionNetwork } from "../helpers";

let network: ReturnType<typeof sixConnectionNetwork>;
afterEach(() => network.restore());

describe("a batch under production's six connections", { timeout: 30_000 }, () => {
  it("six hanging endpoints in a batch: every healthy delivery is delivered, none is recorded as a timeout", async () => {
    network = sixConnectionNetwork((url) => url.startsWith("https://hanging-"));
    // The hanging endpoints wait longer than the healthy ones' timeout, as a 30 s endpoint does beside a 5 s one.
    const hanging = await Promise.all(Array.from({ length: 6 }, (_, i) => seedDelivery({ url: `https://hanging-${i}.example.com/hook`, endpoint: { timeoutMs: 2000 } })));
    const healthy = await Promise.all(Array.from({ length: 10 }, (_, i) => seedDelivery({ url: `https://healthy-${i}.example.com/hook`, endpoint: { timeoutMs: 1000 } })));

    await runConsumer([...hanging, ...healthy].map(({ delivery }) => delivery.id));

    for (const { delivery, endpoint } of healthy) {
      expect(await deliveryRow(delivery.id)).toMatchObject({ status: "succeeded", attemptCount: 1, lastError: null });
      // Nothing reached the endpoint's circuit breaker but its success.
      expect((await endpointHealth(env, endpoint.id)).consecutiveFailures).toBe(0);
    }
    for (const { delivery } of hanging) {
      expect(await deliveryRow(delivery.id)).toMatchObject({ status: "retrying", lastError: expect.stringMatching(/^timed out after 2000 ms/) });
    }
    // The runtime never had to queue one of the batch's sends.
    expect(network.stats).toMatchObject({ queued: 0, timedOutInQueue: 0 });
    expect(network.stats.sent).toHaveLength(16);
  });
});
