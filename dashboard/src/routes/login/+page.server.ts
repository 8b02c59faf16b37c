import { fail, redirect } from "@sveltejs/kit";
import { apiSend } from "$lib/server/api";
import { writeSession } from "$lib/server/session";
import type { Project } from "$lib/types";
import type { Actions, PageServerLoad } from "./$types";

export const load: PageServerLoad = async ({ locals, url }) => {
  if (locals.session?.projectId) redirect(303, "/");
  return { expired: url.searchParams.has("expired") };
};

/** Only same-site paths, so the sign-in form cannot be used as an open redirect. */
function safeNext(value: string | null): string {
  return value && value.startsWith("/") && !value.startsWith("//") ? value : "/";
}

export const actions: Actions = {
  default: async (event) => {
    const form = await event.request.formData();
    const token = String(form.get("token") ?? "").trim();
    if (!token) return fail(400, { message: "Enter a project API key or the admin token." });

    // A project key answers GET /project; the admin token answers GET /projects. Try the likelier one first.
    const asProject = await apiSend<Project>(event, "GET", "/project", { auth: { token } });
    if (asProject.ok) {
      writeSession(event.cookies, event.url, {
        kind: "project",
        token,
        projectId: asProject.data.id,
        projectName: asProject.data.name,
      });
      redirect(303, safeNext(event.url.searchParams.get("next")));
    }
    const asAdmin = await apiSend<{ data: Project[] }>(event, "GET", "/projects", { auth: { token } });
    if (asAdmin.ok) {
      writeSession(event.cookies, event.url, { kind: "admin", token, projectId: null, projectName: null });
      redirect(303, "/projects");
    }
    const status = asAdmin.status >= 500 ? 502 : 401;
    return fail(status, {
      message: status === 502 ? "The Ferry API could not check this key. Try again." : "That key was not accepted.",
    });
  },
};
