import { fail, redirect } from "@sveltejs/kit";
import { describeRange, readFilters, timeWindow, withParams } from "$lib/filters";
import { apiGet, apiSend, failWith } from "$lib/server/api";
import { setFlash } from "$lib/server/flash";
import type { Delivery, Endpoint, Page, Project } from "$lib/types";
import type { Actions, PageServerLoad } from "./$types";

export const load: PageServerLoad = async (event) => {
  event.depends("ferry:poll");
  const now = Date.now();
  const filters = readFilters(event.url.searchParams);
  const [deliveries, endpoints, eventTypes, project] = await Promise.all([
    apiGet<Page<Delivery>>(event, "/deliveries", {
      status: filters.status,
      endpointId: filters.endpointId,
      eventId: filters.eventId,
      eventType: filters.eventType,
      ...timeWindow(filters, now),
      cursor: filters.cursor,
      limit: filters.limit,
    }),
    apiGet<Page<Endpoint>>(event, "/endpoints", { limit: 250 }),
    apiGet<{ data: string[] }>(event, "/event-types"),
    apiGet<Project>(event, "/project"),
  ]);
  return { now, filters, deliveries: deliveries.data, nextCursor: deliveries.nextCursor, endpoints: endpoints.data, eventTypes: eventTypes.data, retention: { retentionSeconds: project.retentionSeconds, retainedSince: project.retainedSince } };
};

/** The filters `POST /deliveries/resend` understands, from the hidden fields of the bulk form. */
function bulkFilter(form: FormData) {
  const params = new URLSearchParams();
  for (const key of ["status", "endpointId", "eventType", "range", "since", "until"]) {
    const value = form.get(key);
    if (typeof value === "string" && value) params.set(key, value);
  }
  const filters = readFilters(params);
  const window = form.get("resolved") === "1"
    ? { since: filters.since || undefined, until: filters.until || undefined }
    : timeWindow(filters);
  const body = {
    status: filters.status || undefined,
    endpointId: filters.endpointId || undefined,
    eventType: filters.eventType || undefined,
    ...window,
  };
  return { filters, body };
}

export const actions: Actions = {
  prepareResend: async (event) => {
    const { filters, body } = bulkFilter(await event.request.formData());
    const counted = await apiSend<{ count: number }>(event, "POST", "/deliveries/resend", { body: { ...body, dryRun: true } });
    if (!counted.ok) return failWith(counted);
    const { count } = counted.data;
    if (count === 0) return fail(400, { message: "No deliveries match these filters, so there is nothing to resend." });
    return { confirm: { count, body, range: describeRange(filters) } };
  },
  bulkResend: async (event) => {
    const form = await event.request.formData();
    const { body } = bulkFilter(form);
    // Back to the same filtered list (first page), never to another site.
    const back = String(form.get("returnTo") ?? "");
    const returnTo = back.startsWith("/deliveries") ? withParams(new URL(back, event.url), { cursor: null }) : "/deliveries";
    const result = await apiSend<{ count: number }>(event, "POST", "/deliveries/resend", { body });
    if (!result.ok) return failWith(result);
    const n = result.data.count;
    setFlash(event.cookies, event.url, "success", `Resend queued for ${n} deliver${n === 1 ? "y" : "ies"}.`);
    redirect(303, returnTo);
  },
};
