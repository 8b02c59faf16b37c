import { load as get } from "$lib/portal/session";
import type { Delivery, Endpoint, Page } from "$lib/types";
import type { PageLoad } from "./$types";

export const load: PageLoad = async ({ fetch, params, depends }) => {
  depends("ferry:poll");
  const [endpoint, deliveries] = await Promise.all([
    get<Endpoint>(fetch, params.project, `/endpoints/${encodeURIComponent(params.id)}`),
    get<Page<Delivery>>(fetch, params.project, `/deliveries?endpointId=${encodeURIComponent(params.id)}&limit=20`),
  ]);
  return { endpoint, deliveries: deliveries.data, now: Date.now() };
};
