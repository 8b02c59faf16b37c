import { load as get } from "$lib/portal/session";
import type { DeliveryDetail } from "$lib/types";
import type { PageLoad } from "./$types";

export const load: PageLoad = async ({ fetch, params, depends }) => {
  depends("ferry:poll");
  const delivery = await get<DeliveryDetail>(fetch, params.project, `/deliveries/${encodeURIComponent(params.id)}`);
  return { delivery, now: Date.now() };
};
