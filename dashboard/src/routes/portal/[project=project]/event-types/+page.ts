import { load as get } from "$lib/portal/session";
import type { PageLoad } from "./$types";

export const load: PageLoad = async ({ fetch, params }) => {
  const eventTypes = await get<{ data: string[] }>(fetch, params.project, "/event-types");
  return { eventTypes: eventTypes.data };
};
