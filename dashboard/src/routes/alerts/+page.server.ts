import { apiGet } from "$lib/server/api";
import type { Alert, Endpoint, Page } from "$lib/types";
import type { PageServerLoad } from "./$types";

export const load: PageServerLoad = async (event) => {
  event.depends("ferry:poll");
  const cursor = event.url.searchParams.get("cursor") ?? undefined;
  const [alerts, endpoints] = await Promise.all([
    apiGet<Page<Alert>>(event, "/alerts", { cursor, limit: 50 }),
    apiGet<Page<Endpoint>>(event, "/endpoints", { limit: 250 }),
  ]);
  const names = Object.fromEntries(endpoints.data.map((ep) => [ep.id, ep.description || ep.url]));
  return { now: Date.now(), alerts: alerts.data, nextCursor: alerts.nextCursor, names };
};
