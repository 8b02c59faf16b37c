import { fail, redirect } from "@sveltejs/kit";
import { apiSend, failWith } from "$lib/server/api";
import { parseEndpointForm } from "$lib/endpoint-form";
import { setFlash } from "$lib/server/flash";
import type { Endpoint } from "$lib/types";
import type { Actions } from "./$types";

export const actions: Actions = {
  create: async (event) => {
    const { values, body, fieldErrors, valid } = parseEndpointForm(await event.request.formData());
    if (!valid) return fail(400, { values, fieldErrors, message: "Check the highlighted fields." });
    const created = await apiSend<Endpoint & { secret: string }>(event, "POST", "/endpoints", { body });
    if (!created.ok) return failWith(created, { values });
    setFlash(event.cookies, event.url, "success", "Endpoint created. Its signing secret is on this page.");
    redirect(303, `/endpoints/${created.data.id}`);
  },
};
