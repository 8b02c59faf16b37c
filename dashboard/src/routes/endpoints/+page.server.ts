import { apiGet } from "$lib/server/api";
import type { Endpoint, Page } from "$lib/types";
import type { PageServerLoad } from "./$types";

export const load: PageServerLoad = async (event) => {
  event.depends("ferry:poll");
  const endpoints = await apiGet<Page<Endpoint>>(event, "/endpoints", { limit: 250 });
  return { now: Date.now(), endpoints: endpoints.data };
};
