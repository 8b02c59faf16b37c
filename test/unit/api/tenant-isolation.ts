/**
 * The shared tenant-isolation check for project-scoped routes: a caller of project B gets 404 (never 403,
 * never the row) for project A's ids, and never sees A's rows in a list, whether it uses its own API key
 * or the admin token acting as B. Every `.security` test calls it with its own routes.
 */
import { expect } from "vitest";
import { ADMIN_TOKEN, client, createProject, expectProblem } from "../helpers";

export type Tenant = { id: string; apiKey: string; call: ReturnType<typeof client> };

export async function twoTenants(): Promise<{ owner: Tenant; intruder: Tenant }> {
  const [a, b] = [await createProject("owner"), await createProject("intruder")];
  return { owner: { ...a, call: client(a.apiKey) }, intruder: { ...b, call: client(b.apiKey) } };
}

export type ScopedRoute = { method: string; path: string; body?: unknown };
export type ScopedList = { path: string; ids: string[] };

export async function expectTenantIsolation(options: {
  owner: Tenant;
  intruder: Tenant;
  /** Routes naming the owner's ids: each must answer 404 to the intruder. */
  routes: ScopedRoute[];
  /** Lists (and filtered lists) that hold the owner's `ids`; the intruder's view of them must not. */
  lists: ScopedList[];
}) {
  const { owner, intruder } = options;
  const callers = [
    { name: "intruder's API key", call: intruder.call },
    { name: "admin token acting as the intruder", call: client(ADMIN_TOKEN, { "Ferry-Project": intruder.id }) },
  ];

  for (const { name, call } of callers) {
    for (const route of options.routes) {
      const response = await call(route.method, route.path, route.body);
      expect.soft(response.status, `${name}: ${route.method} ${route.path} → ${JSON.stringify(response.body)}`).toBe(404);
      if (response.status === 404) expectProblem(response, 404);
    }
    for (const list of options.lists) {
      const response = await call("GET", withLimit(list.path));
      expect(response.status, `${name}: GET ${list.path}`).toBe(200);
      const seen = JSON.stringify(response.body);
      for (const id of list.ids) expect.soft(seen, `${name}: GET ${list.path} shows ${id}`).not.toContain(id);
    }
  }

  // The same lists do show the rows to their owner, so an empty list above means isolation, not a broken query.
  for (const list of options.lists) {
    const response = await owner.call("GET", withLimit(list.path));
    const seen = JSON.stringify(response.body);
    for (const id of list.ids) expect.soft(seen, `owner: GET ${list.path} misses ${id}`).toContain(id);
  }
}

function withLimit(path: string) {
  return path.includes("?") ? `${path}&limit=250` : `${path}?limit=250`;
}
