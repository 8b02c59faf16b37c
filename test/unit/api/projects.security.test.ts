import { beforeAll, describe, expect, it } from "vitest";
import { ADMIN_TOKEN, api, client, createEndpoint, createProject, expectProblem, rowCounts } from "../helpers";
import { expectTenantIsolation, twoTenants, type Tenant } from "./tenant-isolation";

let owner: Tenant;
let intruder: Tenant;
beforeAll(async () => {
  ({ owner, intruder } = await twoTenants());
});

/** One route of each project-scoped resource, as a caller without a valid key would try them. */
const PROJECT_ROUTES = [
  ["GET", "/api/v1/project"],
  ["PATCH", "/api/v1/project"],
  ["DELETE", "/api/v1/project"],
  ["GET", "/api/v1/api-keys"],
  ["POST", "/api/v1/api-keys"],
  ["GET", "/api/v1/endpoints"],
  ["POST", "/api/v1/endpoints"],
  ["GET", "/api/v1/endpoints/ep_x/secret"],
  ["POST", "/api/v1/events"],
  ["POST", "/api/v1/events/batch"],
  ["GET", "/api/v1/events"],
  ["GET", "/api/v1/deliveries"],
  ["POST", "/api/v1/deliveries/dlv_x/resend"],
  ["POST", "/api/v1/deliveries/resend"],
  ["GET", "/api/v1/stats"],
] as const;

describe("authentication", () => {
  it.each([
    ["no Authorization header", {}],
    ["an unknown key", { authorization: "Bearer ferry_sk_not-a-real-key" }],
    ["garbage", { authorization: "Bearer" }],
    ["another scheme", { authorization: `Basic ${btoa("user:pass")}` }],
    ["a token with spaces", { authorization: "Bearer a b" }],
  ])("%s gets 401 problem+json on every project route", async (_, headers: Record<string, string>) => {
    for (const [method, path] of PROJECT_ROUTES) {
      const response = await api(method, path, { headers, body: method === "GET" ? undefined : {} });
      expectProblem(response, 401);
    }
  });

  it("a rejected request writes nothing", async () => {
    const before = await rowCounts();
    expectProblem(await api("POST", "/api/v1/events", { token: "ferry_sk_nope", body: { eventType: "a.b", payload: {} } }), 401);
    expectProblem(await api("POST", "/api/v1/projects", { token: "nope", body: { name: "x" } }), 401);
    expect(await rowCounts()).toEqual(before);
  });

  it("only the admin token manages projects; a project key gets 403, a missing or unknown token 401", async () => {
    expectProblem(await api("GET", "/api/v1/projects", { token: owner.apiKey }), 403);
    expectProblem(await api("POST", "/api/v1/projects", { token: owner.apiKey, body: { name: "x" } }), 403);
    expectProblem(await api("GET", "/api/v1/projects"), 401);
    expectProblem(await api("GET", "/api/v1/projects", { token: "not-the-admin-token" }), 401);
    expectProblem(await api("GET", "/api/v1/projects", { headers: { authorization: "Bearer" } }), 401);
    const list = await api("GET", "/api/v1/projects", { token: ADMIN_TOKEN });
    expect(list.status).toBe(200);
    expect(list.body.data.map((p: any) => p.id)).toEqual(expect.arrayContaining([owner.id, intruder.id]));
    expect(JSON.stringify(list.body)).not.toMatch(/ferry_sk_|hashed/i);
  });

  it("the admin token acts on the project named in Ferry-Project", async () => {
    const endpoint = await createEndpoint(owner.apiKey, { url: "https://admin-view.example.com/hook" });
    const asOwner = client(ADMIN_TOKEN, { "Ferry-Project": owner.id });
    expect((await asOwner("GET", "/project")).body.id).toBe(owner.id);
    expect((await asOwner("GET", `/endpoints/${endpoint.id}`)).status).toBe(200);
    const created = await asOwner("POST", "/endpoints", { url: "https://admin-made.example.com/hook" });
    expect(created.status).toBe(201);
    expect((await owner.call("GET", `/endpoints/${created.body.id}`)).status).toBe(200);
  });

  it("the admin token without Ferry-Project, or naming no project, is refused on project routes", async () => {
    const response = await api("GET", "/api/v1/endpoints", { token: ADMIN_TOKEN });
    expect(response.status).toBe(400);
    expect(expectProblem(response, 400).detail).toMatch(/ferry-project/i);
    expectProblem(await api("GET", "/api/v1/endpoints", { token: ADMIN_TOKEN, headers: { "Ferry-Project": "prj_nope" } }), 404);
  });

  it("a project key ignores Ferry-Project: it cannot switch to another project", async () => {
    const endpoint = await createEndpoint(owner.apiKey, { url: "https://switch.example.com/hook" });
    const sneaky = client(intruder.apiKey, { "Ferry-Project": owner.id });
    expect((await sneaky("GET", "/project")).body.id).toBe(intruder.id);
    expectProblem(await sneaky("GET", `/endpoints/${endpoint.id}`), 404);
  });
});

describe("API keys", () => {
  it("a new key works, is listed without its secret, and stops working once revoked", async () => {
    const project = await createProject("keys");
    const call = client(project.apiKey);
    const created = await call("POST", "/api-keys", { name: "ci" });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ name: "ci", apiKey: expect.stringMatching(/^ferry_sk_/) });
    expect(created.body.apiKey.startsWith(created.body.prefix)).toBe(true);
    const second = client(created.body.apiKey);
    expect((await second("GET", "/project")).body.id).toBe(project.id);

    const listed = await call("GET", "/api-keys");
    expect(listed.body.data.map((k: any) => k.id)).toContain(created.body.id);
    expect(JSON.stringify(listed.body)).not.toContain(created.body.apiKey);
    expect(JSON.stringify(listed.body)).not.toContain(project.apiKey);

    expect((await call("DELETE", `/api-keys/${created.body.id}`)).status).toBe(204);
    for (const [method, path] of PROJECT_ROUTES) {
      expectProblem(await api(method, path, { token: created.body.apiKey, body: method === "GET" ? undefined : {} }), 401);
    }
    expect((await call("GET", "/api-keys")).body.data.find((k: any) => k.id === created.body.id).revokedAt).toEqual(expect.any(String));
    // Revoking twice is a 404: there is nothing left to revoke.
    expectProblem(await call("DELETE", `/api-keys/${created.body.id}`), 404);
    // The first key is untouched.
    expect((await call("GET", "/project")).status).toBe(200);
  });

  it("a key can revoke itself", async () => {
    const project = await createProject("self-revoke");
    const call = client(project.apiKey);
    const own = (await call("GET", "/api-keys")).body.data[0];
    expect((await call("DELETE", `/api-keys/${own.id}`)).status).toBe(204);
    expectProblem(await call("GET", "/project"), 401);
  });

  it("another project's key gets 404 for the owner's keys and never lists them", async () => {
    const ownerKeys = (await owner.call("GET", "/api-keys")).body.data.map((k: any) => k.id);
    expect(ownerKeys.length).toBeGreaterThan(0);
    await expectTenantIsolation({
      owner,
      intruder,
      routes: ownerKeys.map((id: string) => ({ method: "DELETE", path: `/api-keys/${id}` })),
      lists: [{ path: "/api-keys", ids: ownerKeys }],
    });
    expect((await owner.call("GET", "/project")).status).toBe(200);
  });
});

describe("the project's own settings", () => {
  it("PATCH /project changes only the caller's project", async () => {
    const response = await intruder.call("PATCH", "/project", { name: "renamed", retrySchedule: [1, 2] });
    expect(response.status).toBe(200);
    expect(response.body).toMatchObject({ id: intruder.id, name: "renamed", retrySchedule: [1, 2] });
    const ownerProject = (await owner.call("GET", "/project")).body;
    expect(ownerProject.name).toBe("owner");
    expect(ownerProject.retrySchedule).toEqual([5, 300, 1800, 7200, 18000, 36000, 50400, 72000, 86400]);
  });
});
