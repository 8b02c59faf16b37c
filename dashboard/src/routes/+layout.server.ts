import { takeFlash } from "$lib/server/flash";
import { publicSession } from "$lib/server/session";
import type { LayoutServerLoad } from "./$types";

export const load: LayoutServerLoad = async ({ locals, cookies, url }) => {
  return {
    session: locals.session ? publicSession(locals.session) : null,
    flash: takeFlash(cookies, url),
  };
};
