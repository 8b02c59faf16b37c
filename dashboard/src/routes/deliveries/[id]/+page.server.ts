import { redirect } from "@sveltejs/kit";
import { apiGet, apiSend, failWith } from "$lib/server/api";
import { setFlash } from "$lib/server/flash";
import type { Delivery, DeliveryDetail } from "$lib/types";
import type { Actions, PageServerLoad } from "./$types";

export const load: PageServerLoad = async (event) => {
  event.depends("ferry:poll");
  const delivery = await apiGet<DeliveryDetail>(event, `/deliveries/${encodeURIComponent(event.params.id)}`);
  return { now: Date.now(), delivery };
};

export const actions: Actions = {
  resend: async (event) => {
    const result = await apiSend<Delivery>(event, "POST", `/deliveries/${encodeURIComponent(event.params.id)}/resend`);
    if (!result.ok) return failWith(result);
    setFlash(event.cookies, event.url, "success", "Resend queued. The new attempt appears below in a moment.");
    redirect(303, `/deliveries/${event.params.id}`);
  },
};
