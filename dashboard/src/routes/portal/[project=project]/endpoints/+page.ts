import { load as get } from "$lib/portal/session";
import type { Endpoint, Page } from "$lib/types";
import type { PageLoad } from "./$types";

export const load: PageLoad = async ({ fetch, params, depends }) => {
  depends("ferry:poll");
  const [endpoints, eventTypes] = await Promise.all([
    get<Page<Endpoint>>(fetch, params.project, "/endpoints?limit=100"),
    get<{ data: string[] }>(fetch, params.project, "/event-types"),
  ]);
  return { endpoints: endpoints.data, eventTypes: eventTypes.data, now: Date.now() };
};
