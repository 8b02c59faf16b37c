import { readFilters, timeWindow } from "$lib/filters";
import { apiGet } from "$lib/server/api";
import type { Endpoint, EventSummary, Page, Project } from "$lib/types";
import type { PageServerLoad } from "./$types";

export const load: PageServerLoad = async (event) => {
  event.depends("ferry:poll");
  const now = Date.now();
  const filters = readFilters(event.url.searchParams);
  const [events, endpoints, eventTypes, project] = await Promise.all([
    apiGet<Page<EventSummary>>(event, "/events", {
      eventType: filters.eventType,
      status: filters.status,
      endpointId: filters.endpointId,
      search: filters.search,
      ...timeWindow(filters, now),
      cursor: filters.cursor,
      limit: filters.limit,
    }),
    apiGet<Page<Endpoint>>(event, "/endpoints", { limit: 250 }),
    apiGet<{ data: string[] }>(event, "/event-types"),
    apiGet<Project>(event, "/project"),
  ]);
  return { now, filters, events: events.data, nextCursor: events.nextCursor, endpoints: endpoints.data, eventTypes: eventTypes.data, retention: { retentionSeconds: project.retentionSeconds, retainedSince: project.retainedSince } };
};
