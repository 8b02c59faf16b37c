import { error } from "@sveltejs/kit";
import { ENDED_MESSAGE, openPortalSession } from "$lib/portal/session";
import type { LayoutLoad } from "./$types";

export const load: LayoutLoad = async ({ fetch, params }) => {
  const session = await openPortalSession(fetch, params.project);
  if (!session) error(401, ENDED_MESSAGE);
  return { session, base: `/portal/${params.project}` };
};
