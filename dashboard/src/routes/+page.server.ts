import { apiGet } from "$lib/server/api";
import type { Delivery, Endpoint, Page, Stats } from "$lib/types";
import type { PageServerLoad } from "./$types";

export const load: PageServerLoad = async (event) => {
  event.depends("ferry:poll");
  const now = Date.now();
  const since = new Date(now - 24 * 3_600_000).toISOString();
  const [stats, endpoints, failures] = await Promise.all([
    apiGet<Stats>(event, "/stats", { since, bucketMinutes: 60 }),
    apiGet<Page<Endpoint>>(event, "/endpoints", { limit: 250 }),
    apiGet<Page<Delivery>>(event, "/deliveries", { status: "failed", since, limit: 5 }),
  ]);
  const attention = endpoints.data.filter(
    (ep) => ep.status === "disabled" || (ep.health && (ep.health.circuitState !== "closed" || ep.health.consecutiveFailures > 0)),
  );
  return { now, stats, endpointCount: endpoints.data.length, attention, failures: failures.data };
};
