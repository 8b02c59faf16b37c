import { fail, redirect } from "@sveltejs/kit";
import { apiGet, apiSend, failWith } from "$lib/server/api";
import { endpointToValues, parseEndpointForm } from "$lib/endpoint-form";
import { setFlash } from "$lib/server/flash";
import type { Delivery, Endpoint, EventSummary, Page } from "$lib/types";
import type { Actions, PageServerLoad, RequestEvent } from "./$types";

const path = (event: RequestEvent | Parameters<PageServerLoad>[0], suffix = "") =>
  `/endpoints/${encodeURIComponent(event.params.id)}${suffix}`;

export const load: PageServerLoad = async (event) => {
  event.depends("ferry:poll");
  const [endpoint, deliveries] = await Promise.all([
    apiGet<Endpoint>(event, path(event)),
    apiGet<Page<Delivery>>(event, "/deliveries", { endpointId: event.params.id, limit: 10 }),
  ]);
  return { now: Date.now(), endpoint, values: endpointToValues(endpoint), deliveries: deliveries.data };
};

/** Runs one state change and comes back to this page with a notice. */
async function change(event: RequestEvent, suffix: string, body: unknown, notice: string) {
  const result = await apiSend(event, "POST", path(event, suffix), { body });
  if (!result.ok) return failWith(result);
  setFlash(event.cookies, event.url, "success", notice);
  redirect(303, path(event));
}

export const actions: Actions = {
  update: async (event) => {
    const { values, body, fieldErrors, valid } = parseEndpointForm(await event.request.formData());
    if (!valid) return fail(400, { values, fieldErrors, message: "Check the highlighted fields." });
    const result = await apiSend<Endpoint>(event, "PATCH", path(event), { body });
    if (!result.ok) return failWith(result, { values });
    setFlash(event.cookies, event.url, "success", "Endpoint saved.");
    redirect(303, path(event));
  },
  enable: (event) => change(event, "/enable", {}, "Endpoint enabled. New events will be delivered again."),
  disable: (event) =>
    change(event, "/disable", { reason: "Disabled from the dashboard" }, "Endpoint disabled. Its deliveries are paused."),
  revealSecret: async (event) => {
    const result = await apiSend<{ secret: string }>(event, "GET", path(event, "/secret"));
    if (!result.ok) return failWith(result);
    return { secret: result.data.secret, rotated: false };
  },
  rotateSecret: async (event) => {
    const grace = Number((await event.request.formData()).get("graceSeconds") ?? 0);
    const result = await apiSend<{ secret: string }>(event, "POST", path(event, "/secret/rotate"), {
      body: { graceSeconds: Number.isFinite(grace) ? grace : 0 },
    });
    if (!result.ok) return failWith(result);
    // Shown in the page, never put in a URL or a cookie.
    return { secret: result.data.secret, rotated: true };
  },
  test: async (event) => {
    const result = await apiSend<EventSummary>(event, "POST", path(event, "/test"), { body: {} });
    if (!result.ok) return failWith(result);
    setFlash(event.cookies, event.url, "success", "Test event sent to this endpoint.");
    redirect(303, `/events/${result.data.id}`);
  },
  delete: async (event) => {
    const result = await apiSend(event, "DELETE", path(event));
    if (!result.ok) return failWith(result);
    setFlash(event.cookies, event.url, "success", "Endpoint deleted.");
    redirect(303, "/endpoints");
  },
};
