import { redirect } from "@sveltejs/kit";
import { apiGet, apiSend, failWith } from "$lib/server/api";
import { setFlash } from "$lib/server/flash";
import type { Delivery, EventDetail } from "$lib/types";
import type { Actions, PageServerLoad } from "./$types";

export const load: PageServerLoad = async (event) => {
  event.depends("ferry:poll");
  const detail = await apiGet<EventDetail>(event, `/events/${encodeURIComponent(event.params.id)}`);
  return { now: Date.now(), event: detail };
};

export const actions: Actions = {
  resendAll: async (event) => {
    const detail = await apiGet<EventDetail>(event, `/events/${encodeURIComponent(event.params.id)}`);
    for (const delivery of detail.deliveries) {
      const result = await apiSend<Delivery>(event, "POST", `/deliveries/${delivery.id}/resend`);
      if (!result.ok) return failWith(result);
    }
    const n = detail.deliveries.length;
    setFlash(event.cookies, event.url, "success", `Resend queued for ${n} deliver${n === 1 ? "y" : "ies"}.`);
    redirect(303, `/events/${event.params.id}`);
  },
};
