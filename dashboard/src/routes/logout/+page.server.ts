import { redirect } from "@sveltejs/kit";
import { clearSession } from "$lib/server/session";
import type { Actions, PageServerLoad } from "./$types";

export const load: PageServerLoad = async () => redirect(303, "/");

export const actions: Actions = {
  default: async ({ cookies, url }) => {
    clearSession(cookies, url);
    redirect(303, "/login");
  },
};
