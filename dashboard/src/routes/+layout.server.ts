import { takeFlash } from "$lib/server/flash";
import { publicSession } from "$lib/server/session";
import type { LayoutServerLoad } from "./$types";

export const load: LayoutServerLoad = async ({ locals, cookies, url, route }) => {
  // The portal has no cookie session and shows no admin notices.
  if (route.id?.startsWith("/portal")) return { session: null, flash: null };
  return {
    session: locals.session ? publicSession(locals.session) : null,
    flash: takeFlash(cookies, url),
  };
};
