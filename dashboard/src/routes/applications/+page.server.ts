import { fail, redirect } from "@sveltejs/kit";
import { apiGet, apiSend, failWith } from "$lib/server/api";
import { setFlash } from "$lib/server/flash";
import type { Application, Page, PortalLink } from "$lib/types";
import type { Actions, PageServerLoad } from "./$types";

export const load: PageServerLoad = async (event) => {
  const applications = await apiGet<Page<Application>>(event, "/applications", { limit: 250 });
  return { applications: applications.data, now: Date.now() };
};

async function portalLink(event: Parameters<Actions[string]>[0], readOnly: boolean) {
  const id = String((await event.request.formData()).get("id") ?? "");
  return apiSend<PortalLink>(event, "POST", `/applications/${encodeURIComponent(id)}/portal-links`, { body: { readOnly, expiresInSeconds: 3600 } });
}

export const actions: Actions = {
  create: async (event) => {
    const form = await event.request.formData();
    const values = { name: String(form.get("name") ?? "").trim(), uid: String(form.get("uid") ?? "").trim() };
    if (!values.name) return fail(400, { values, fieldErrors: { name: "Give it a name." } satisfies Record<string, string> as Record<string, string>, message: "Check the highlighted fields." });
    const created = await apiSend<Application>(event, "POST", "/applications", { body: { name: values.name, ...(values.uid ? { uid: values.uid } : {}) } });
    if (!created.ok) return failWith(created, { values });
    setFlash(event.cookies, event.url, "success", `Application “${created.data.name}” created.`);
    redirect(303, "/applications");
  },
  /** Opens the portal as this customer sees it: a one-hour link, followed at once (in a new tab). */
  openPortal: async (event) => {
    const link = await portalLink(event, false);
    if (!link.ok) return failWith(link);
    redirect(303, link.data.url);
  },
  /** A link to hand out: shown once on the page. */
  createLink: async (event) => {
    const readOnly = event.url.searchParams.has("readOnly");
    const link = await portalLink(event, readOnly);
    if (!link.ok) return failWith(link);
    return { link: link.data };
  },
  revokeLinks: async (event) => {
    const id = String((await event.request.formData()).get("id") ?? "");
    const revoked = await apiSend(event, "DELETE", `/applications/${encodeURIComponent(id)}/portal-links`);
    if (!revoked.ok) return failWith(revoked);
    setFlash(event.cookies, event.url, "success", "Every portal link of this application was revoked; open sessions have ended.");
    redirect(303, "/applications");
  },
};
