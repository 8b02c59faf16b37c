import { apiGet } from "$lib/server/api";
import type { Delivery, Endpoint, Page, Stats } from "$lib/types";
import type { PageServerLoad } from "./$types";

/** Overview windows: how far back, and the chart bucket size for that span. */
const WINDOWS = {
  "1h": { label: "1 hour", ms: 3_600_000, bucketMinutes: 5 },
  "24h": { label: "24 hours", ms: 86_400_000, bucketMinutes: 60 },
  "7d": { label: "7 days", ms: 7 * 86_400_000, bucketMinutes: 360 },
} as const;
type WindowKey = keyof typeof WINDOWS;

export const load: PageServerLoad = async (event) => {
  event.depends("ferry:poll");
  const param = event.url.searchParams.get("window") ?? "24h";
  const windowKey: WindowKey = param in WINDOWS ? (param as WindowKey) : "24h";
  const { ms, bucketMinutes } = WINDOWS[windowKey];
  const now = Date.now();
  const since = new Date(now - ms).toISOString();
  const [stats, endpoints, failures] = await Promise.all([
    apiGet<Stats>(event, "/stats", { since, bucketMinutes }),
    apiGet<Page<Endpoint>>(event, "/endpoints", { limit: 250 }),
    apiGet<Page<Delivery>>(event, "/deliveries", { status: "failed", since, limit: 5 }),
  ]);
  const attention = endpoints.data.filter(
    (ep) => ep.status === "disabled" || (ep.health && (ep.health.circuitState !== "closed" || ep.health.consecutiveFailures > 0)),
  );
  return { now, windowKey, stats, endpointCount: endpoints.data.length, attention, failures: failures.data };
};
