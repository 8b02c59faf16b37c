import { describe, expect, it } from "vitest";
import { ADMIN_TOKEN, api, client, env, expectProblem, rowCounts } from "../helpers";

const STANDARD = [5, 300, 1800, 7200, 18000, 36000, 50400, 72000, 86400];

async function sha256Hex(value: string) {
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(value));
  return [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, "0")).join("");
}

describe("projects", () => {
  it("POST /projects (admin) returns the project and its API key, which is stored only as a SHA-256", async () => {
    const created = await api("POST", "/api/v1/projects", { token: ADMIN_TOKEN, body: { name: "Acme", alertEmails: ["ops@acme.test"] } });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ id: expect.stringMatching(/^prj_/), name: "Acme", alertEmails: ["ops@acme.test"], apiKey: expect.stringMatching(/^ferry_sk_/), retrySchedule: STANDARD });
    const rows = await env.DB.prepare("select * from api_keys where project_id = ?").bind(created.body.id).all();
    expect(rows.results).toHaveLength(1);
    expect(rows.results[0].hashed_key).toBe(await sha256Hex(created.body.apiKey));
    expect(JSON.stringify(rows.results)).not.toContain(created.body.apiKey);
    expect((await client(created.body.apiKey)("GET", "/project")).body).toMatchObject({ id: created.body.id, name: "Acme" });
  });

  it("POST /projects validates its input", async () => {
    expect((await api("POST", "/api/v1/projects", { token: ADMIN_TOKEN, body: { name: "" } })).status).toBe(422);
    expect((await api("POST", "/api/v1/projects", { token: ADMIN_TOKEN, body: { name: "x", alertEmails: ["not-an-email"] } })).status).toBe(422);
    expect((await api("POST", "/api/v1/projects", { token: ADMIN_TOKEN, body: { name: "x", owner: "me" } })).status).toBe(422);
  });

  it("PATCH /project sets the retry schedule; null goes back to the default", async () => {
    const created = await api("POST", "/api/v1/projects", { token: ADMIN_TOKEN, body: { name: "sched" } });
    const call = client(created.body.apiKey);
    expect((await call("PATCH", "/project", { retrySchedule: [1, 2, 3] })).body.retrySchedule).toEqual([1, 2, 3]);
    expect((await call("GET", "/project")).body.retrySchedule).toEqual([1, 2, 3]);
    expect((await call("PATCH", "/project", { retrySchedule: null })).body.retrySchedule).toEqual(STANDARD);
    const renamed = await call("PATCH", "/project", { name: "renamed", alertEmails: ["a@b.test"] });
    expect(renamed.body).toMatchObject({ name: "renamed", alertEmails: ["a@b.test"], retrySchedule: STANDARD });
  });

  it("DELETE /project needs the project's id as `confirm`: anything else is a 422 naming the field and changes nothing", async () => {
    const created = await api("POST", "/api/v1/projects", { token: ADMIN_TOKEN, body: { name: "keep me" } });
    const call = client(created.body.apiKey);
    const before = await rowCounts();
    for (const body of [undefined, {}, { confirm: "prj_someone_else" }, { confirm: created.body.id, extra: 1 }]) {
      const refused = expectProblem(await call("DELETE", "/project", body), 422);
      expect(JSON.stringify(refused.errors ?? refused.detail)).toMatch(/confirm|extra|body|json/i);
    }
    expectProblem(await api("DELETE", `/api/v1/projects/${created.body.id}`, { token: ADMIN_TOKEN, body: { confirm: "prj_other" } }), 422);
    expectProblem(await api("DELETE", `/api/v1/projects/${created.body.id}`, { token: created.body.apiKey, body: { confirm: created.body.id } }), 403);
    expect(await rowCounts()).toEqual(before);
    expect((await call("GET", "/project")).status).toBe(200);
  });

  it("DELETE /project answers 202 with the job, after which the key is refused", async () => {
    const created = await api("POST", "/api/v1/projects", { token: ADMIN_TOKEN, body: { name: "delete me" } });
    const call = client(created.body.apiKey);
    const deleted = await call("DELETE", "/project", { confirm: created.body.id });
    expect(deleted).toMatchObject({ status: 202, body: { jobId: expect.stringMatching(/^job_/) } });
    expectProblem(await call("GET", "/project"), 401);
    const doc = await api("GET", "/api/v1/openapi.json");
    expect(doc.body.paths["/project"].delete.operationId).toBe("v1.project.delete");
    expect(doc.body.paths["/projects/{id}"].delete.operationId).toBe("v1.project.admin-delete");
  });
});
