import { error, fail, redirect } from "@sveltejs/kit";
import { apiGet, apiSend, failWith } from "$lib/server/api";
import { writeSession } from "$lib/server/session";
import type { Project } from "$lib/types";
import type { Actions, PageServerLoad } from "./$types";

type CreatedProject = Project & { apiKey: string };

export const load: PageServerLoad = async (event) => {
  if (event.locals.session?.kind !== "admin") redirect(303, "/");
  // List projects as admin, without acting for the current one.
  const session = event.locals.session;
  event.locals.session = { ...session, projectId: null };
  const projects = await apiGet<{ data: Project[] }>(event, "/projects");
  event.locals.session = session;
  return { projects: projects.data, current: session.projectId };
};

export const actions: Actions = {
  select: async (event) => {
    const session = event.locals.session;
    if (session?.kind !== "admin") error(403, { message: "Only the admin token can switch projects." });
    const id = String((await event.request.formData()).get("projectId") ?? "");
    const project = await apiSend<Project>(event, "GET", "/project", { auth: { token: session.token, projectId: id } });
    if (!project.ok) return failWith(project);
    writeSession(event.cookies, event.url, { ...session, projectId: project.data.id, projectName: project.data.name });
    redirect(303, "/");
  },
  create: async (event) => {
    const session = event.locals.session;
    if (session?.kind !== "admin") error(403, { message: "Only the admin token can create projects." });
    const name = String((await event.request.formData()).get("name") ?? "").trim();
    if (!name) return fail(400, { message: "Give the project a name.", fieldErrors: { name: "Required" } });
    const created = await apiSend<CreatedProject>(event, "POST", "/projects", {
      body: { name },
      auth: { token: session.token },
    });
    if (!created.ok) return failWith(created);
    // The key is shown once, here; it is never put in a URL.
    return { created: { id: created.data.id, name: created.data.name, apiKey: created.data.apiKey } };
  },
};
