import { eq } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { database } from "../../../workers/db/client";
import { applications } from "../../../workers/db/schema";
import { signPortalToken } from "../../../workers/portal/capability";
import { api, client, env, eventually, expectProblem, fakeReceivers } from "../helpers";
import { expectTenantIsolation, twoTenants, type Tenant } from "./tenant-isolation";

let receivers: ReturnType<typeof fakeReceivers>;
let owner: Tenant;
let intruder: Tenant;
beforeAll(async () => {
  receivers = fakeReceivers();
  receivers.on("https://", () => new Response("ok"));
  ({ owner, intruder } = await twoTenants());
}, 30_000);
afterAll(() => receivers.restore());

/** The link token is the URL's fragment; the project id is its last path segment. */
async function portalLink(call: Tenant["call"], application: string, body: Record<string, unknown> = {}) {
  const link = await call("POST", `/applications/${application}/portal-links`, body);
  expect(link.status, JSON.stringify(link.body)).toBe(201);
  const url = new URL(link.body.url);
  return { ...link.body, token: url.hash.slice(1), projectId: url.pathname.split("/").at(-1) };
}

async function openSession(linkToken: string) {
  return api("POST", "/api/v1/portal/sessions", { body: { link: linkToken } });
}

async function portalSession(call: Tenant["call"], application: string, body: Record<string, unknown> = {}) {
  const opened = await openSession((await portalLink(call, application, body)).token);
  expect(opened.status, JSON.stringify(opened.body)).toBe(201);
  return { ...opened.body, call: client(opened.body.token) } as { token: string; readOnly: boolean; application: any; call: Tenant["call"] };
}

describe("fan-out never crosses applications", () => {
  it("with many applications, each event reaches exactly its own application's endpoints", async () => {
    const apps: { id: string; endpoints: string[] }[] = [];
    for (let i = 0; i < 12; i++) {
      const app = (await owner.call("POST", "/applications", { name: `tenant ${i}`, uid: `many-${i}` })).body;
      const endpoints = [];
      // Some subscribe to everything, some to the type, some to a wildcard: none may see another application's event.
      for (const eventTypes of [[], ["order.created"], ["order.*"]].slice(0, 1 + (i % 3))) {
        endpoints.push((await owner.call("POST", "/endpoints", { url: `https://many-${i}.example.com/${endpoints.length}`, applicationId: app.id, eventTypes })).body.id);
      }
      apps.push({ id: app.id, endpoints });
    }
    const projectOwn = (await owner.call("POST", "/endpoints", { url: "https://many-project.example.com/" })).body.id;
    const batch = await owner.call("POST", "/events/batch", { events: apps.map((_, i) => ({ eventType: "order.created", payload: { i }, application: `many-${i}` })) });
    expect(batch.status).toBe(202);
    batch.body.events.forEach((event: any, i: number) => {
      expect(event.deliveries.map((d: any) => d.endpointId).sort()).toEqual([...apps[i].endpoints].sort());
    });
    const unscoped = await owner.call("POST", "/events", { eventType: "order.created", payload: {} });
    const reached = unscoped.body.deliveries.map((d: any) => d.endpointId);
    expect(reached).toContain(projectOwn);
    for (const app of apps) for (const id of app.endpoints) expect(reached).not.toContain(id);
    // And on the wire: each receiver got only its own application's event.
    await eventually(async () => receivers.requests("https://many-").length >= apps.reduce((n, a) => n + a.endpoints.length, 0) + 1);
    for (const [i] of apps.entries()) {
      for (const request of receivers.requests(`https://many-${i}.example.com/`)) expect(JSON.parse(request.body).data).toEqual({ i });
    }
    // Creating 12 applications and ~24 endpoints one request at a time takes a while on a shared machine.
  }, 30_000);
});

describe("applications are isolated by project", () => {
  it("another project gets 404 for every application route, by id and by uid, and never lists them", async () => {
    const app = (await owner.call("POST", "/applications", { name: "Owner's customer", uid: "owners-cus" })).body;
    const routes = (ref: string) => [
      { method: "GET", path: `/applications/${ref}` },
      { method: "PATCH", path: `/applications/${ref}`, body: { name: "taken" } },
      { method: "POST", path: `/applications/${ref}/portal-links`, body: {} },
      { method: "DELETE", path: `/applications/${ref}/portal-links` },
      { method: "DELETE", path: `/applications/${ref}` },
    ];
    await expectTenantIsolation({ owner, intruder, routes: [...routes(app.id), ...routes("owners-cus")], lists: [{ path: "/applications", ids: [app.id] }] });
    expect((await owner.call("GET", `/applications/${app.id}`)).body.name).toBe("Owner's customer");
    // Sending to another project's application is refused (and the same uid in two projects is two applications).
    expectProblem(await intruder.call("POST", "/events", { eventType: "a.b", payload: {}, application: app.id }), 422);
    expectProblem(await intruder.call("GET", "/endpoints?application=owners-cus"), 422);
    expect((await intruder.call("POST", "/applications", { name: "theirs", uid: "owners-cus" })).status).toBe(201);
  });
});

describe("a portal session", () => {
  let appA: any;
  let appB: any;
  let epA: any;
  let epB: any;
  let epProject: any;
  let eventA: any;
  let eventB: any;
  beforeAll(async () => {
    appA = (await owner.call("POST", "/applications", { name: "Customer A", uid: "portal-a" })).body;
    appB = (await owner.call("POST", "/applications", { name: "Customer B", uid: "portal-b" })).body;
    epA = (await owner.call("POST", "/endpoints", { url: "https://portal-a.example.com/", applicationId: appA.id })).body;
    epB = (await owner.call("POST", "/endpoints", { url: "https://portal-b.example.com/", applicationId: appB.id })).body;
    epProject = (await owner.call("POST", "/endpoints", { url: "https://portal-project.example.com/" })).body;
    eventA = (await owner.call("POST", "/events", { eventType: "a.happened", payload: {}, application: appA.id })).body;
    eventB = (await owner.call("POST", "/events", { eventType: "b.happened", payload: {}, application: appB.id })).body;
  }, 30_000);

  it("sees its own application only; another application's (and the project's) ids answer 404", async () => {
    const session = await portalSession(owner.call, "portal-a");
    expect(session.application).toMatchObject({ id: appA.id, name: "Customer A", uid: "portal-a" });
    expect(session.token).toMatch(/^ferry_ps_/);
    const { call } = session;

    expect((await call("GET", "/endpoints")).body.data.map((e: any) => e.id)).toEqual([epA.id]);
    // Asking for another application's list still shows its own.
    expect((await call("GET", `/endpoints?application=${appB.id}`)).body.data.map((e: any) => e.id)).toEqual([epA.id]);
    expect((await call("GET", "/events")).body.data.map((e: any) => e.id)).toEqual([eventA.id]);
    expect((await call("GET", "/deliveries")).body.data.map((d: any) => d.id)).toEqual([eventA.deliveries[0].id]);
    expect((await call("GET", "/event-types")).body.data).toEqual(["a.happened"]);
    expect((await call("GET", `/endpoints/${epA.id}`)).status).toBe(200);
    expect((await call("GET", `/deliveries/${eventA.deliveries[0].id}`)).status).toBe(200);

    for (const foreign of [epB, epProject]) {
      for (const [method, path, body] of [
        ["GET", `/endpoints/${foreign.id}`],
        ["PATCH", `/endpoints/${foreign.id}`, { description: "taken" }],
        ["DELETE", `/endpoints/${foreign.id}`],
        ["GET", `/endpoints/${foreign.id}/secret`],
        ["POST", `/endpoints/${foreign.id}/secret/rotate`, {}],
        ["POST", `/endpoints/${foreign.id}/disable`, {}],
        ["POST", `/endpoints/${foreign.id}/enable`],
        ["POST", `/endpoints/${foreign.id}/test`, {}],
      ] as const) {
        const response = await call(method, path, body);
        expect(response.status, `${method} ${path}`).toBe(404);
      }
    }
    expect((await call("GET", `/events/${eventB.id}`)).status).toBe(404);
    expect((await call("GET", `/deliveries/${eventB.deliveries[0].id}`)).status).toBe(404);
    expect((await call("POST", `/deliveries/${eventB.deliveries[0].id}/resend`)).status).toBe(404);
    // A bulk resend touches its own application's deliveries only.
    await eventually(async () => (await owner.call("GET", `/deliveries/${eventB.deliveries[0].id}`)).body.status === "succeeded");
    const bulk = await call("POST", "/deliveries/resend", { dryRun: true, application: appB.id });
    expect(bulk.body.count).toBe(1);
    // Nothing of B's changed.
    expect((await owner.call("GET", `/endpoints/${epB.id}`)).body).toMatchObject({ status: "active", description: "" });
    expect((await owner.call("GET", `/endpoints/${epB.id}/secret`)).body.secret).toBe(epB.secret);
  });

  it("creates endpoints in its own application only, and cannot reach project-level routes", async () => {
    const { call } = await portalSession(owner.call, "portal-a");
    const created = await call("POST", "/endpoints", { url: "https://portal-a-new.example.com/", applicationId: appB.id });
    expect(created.status).toBe(201);
    expect(created.body.applicationId).toBe(appA.id);
    for (const [method, path, body] of [
      ["GET", "/project"],
      ["PATCH", "/project", { name: "taken" }],
      ["GET", "/applications"],
      ["GET", `/applications/${appA.id}`],
      ["POST", `/applications/${appA.id}/portal-links`, {}],
      ["GET", "/api-keys"],
      ["POST", "/api-keys", {}],
      ["POST", "/events", { eventType: "x.y", payload: {} }],
      ["POST", "/events/batch", { events: [{ eventType: "x.y", payload: {} }] }],
      ["GET", "/alerts"],
    ] as const) {
      expect((await call(method, path, body)).status, `${method} ${path}`).toBe(403);
    }
    // Another project's routes are no nearer.
    expect((await call("GET", `/endpoints/${(await intruder.call("POST", "/endpoints", { url: "https://intr.example.com/" })).body.id}`)).status).toBe(404);
  });

  it("read-only: reads, but every action and the secret are refused", async () => {
    const session = await portalSession(owner.call, "portal-a", { readOnly: true });
    expect(session.readOnly).toBe(true);
    const { call } = session;
    expect((await call("GET", "/endpoints")).status).toBe(200);
    expect((await call("GET", `/deliveries/${eventA.deliveries[0].id}`)).status).toBe(200);
    expect((await call("GET", "/portal/session")).body.readOnly).toBe(true);
    for (const [method, path, body] of [
      ["POST", "/endpoints", { url: "https://ro.example.com/" }],
      ["PATCH", `/endpoints/${epA.id}`, { description: "x" }],
      ["DELETE", `/endpoints/${epA.id}`],
      ["GET", `/endpoints/${epA.id}/secret`],
      ["POST", `/endpoints/${epA.id}/secret/rotate`, {}],
      ["POST", `/endpoints/${epA.id}/disable`, {}],
      ["POST", `/endpoints/${epA.id}/test`, {}],
      ["POST", `/deliveries/${eventA.deliveries[0].id}/resend`],
      ["POST", "/deliveries/resend", { status: "failed" }],
    ] as const) {
      const response = await call(method, path, body);
      expect(response.status, `${method} ${path}`).toBe(403);
      expect(response.body.detail).toMatch(/read-only/);
    }
    expect((await owner.call("GET", `/endpoints/${epA.id}`)).body.status).toBe("active");
  });

  it("expired links and sessions are refused; a tampered or foreign-signed token too; a link is not a session", async () => {
    const [row] = await database(env).select().from(applications).where(eq(applications.id, appA.id));
    const past = Date.now() - 1000;
    const base = { projectId: row.projectId, applicationId: row.id, readOnly: false };
    const expiredLink = await signPortalToken({ ...base, kind: "link", expiresAt: past, renewableUntil: past }, row.portalKey);
    expectProblem(await openSession(expiredLink), 401);
    const expiredSession = await signPortalToken({ ...base, kind: "session", expiresAt: past, renewableUntil: past }, row.portalKey);
    expectProblem(await client(expiredSession)("GET", "/endpoints"), 401);

    const later = Date.now() + 60_000;
    const forged = await signPortalToken({ ...base, kind: "session", expiresAt: later, renewableUntil: later }, "not-the-key");
    expectProblem(await client(forged)("GET", "/endpoints"), 401);
    // Claims moved to application B under A's signature.
    const good = await signPortalToken({ ...base, kind: "session", expiresAt: later, renewableUntil: later }, row.portalKey);
    const [, mac] = good.slice("ferry_ps_".length).split(".");
    const claimsB = btoa(JSON.stringify({ ...base, applicationId: appB.id, kind: "session", expiresAt: later, renewableUntil: later })).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
    expectProblem(await client(`ferry_ps_${claimsB}.${mac}`)("GET", "/endpoints"), 401);

    const link = await portalLink(owner.call, "portal-a");
    expectProblem(await client(link.token)("GET", "/endpoints"), 401);
    expect(link.projectId).toBe(row.projectId);
    expect(new Date(link.expiresAt).getTime()).toBeGreaterThan(Date.now() + 6 * 86_400_000);
  });

  it("a session never outlives its link, and renewing keeps it inside that limit", async () => {
    const link = await portalLink(owner.call, "portal-a", { expiresInSeconds: 120 });
    const opened = (await openSession(link.token)).body;
    expect(new Date(opened.expiresAt).getTime()).toBeLessThanOrEqual(new Date(link.expiresAt).getTime());
    const renewed = await client(opened.token)("POST", "/portal/session/renew");
    expect(renewed.status).toBe(201);
    expect(new Date(renewed.body.expiresAt).getTime()).toBeLessThanOrEqual(new Date(link.expiresAt).getTime());
    expect((await client(renewed.body.token)("GET", "/endpoints")).status).toBe(200);
  });

  it("revoking the links ends every session they opened, at once, and only that application's", async () => {
    const link = await portalLink(owner.call, "portal-a");
    const first = await portalSession(owner.call, "portal-a");
    const second = await portalSession(owner.call, "portal-a", { readOnly: true });
    const other = await portalSession(owner.call, "portal-b");
    expect((await first.call("GET", "/endpoints")).status).toBe(200);

    expect((await owner.call("DELETE", "/applications/portal-a/portal-links")).status).toBe(204);
    expect(expectProblem(await first.call("GET", "/endpoints"), 401).detail).toMatch(/expired or was revoked/);
    expectProblem(await second.call("GET", "/endpoints"), 401);
    expectProblem(await first.call("POST", "/portal/session/renew"), 401);
    expectProblem(await openSession(link.token), 401);
    expect((await other.call("GET", "/endpoints")).status).toBe(200);
    // New links work again.
    expect((await (await portalSession(owner.call, "portal-a")).call("GET", "/endpoints")).status).toBe(200);
  });

  it("deleting the application ends its sessions", async () => {
    const app = (await owner.call("POST", "/applications", { name: "short-lived" })).body;
    const session = await portalSession(owner.call, app.id);
    expect((await owner.call("DELETE", `/applications/${app.id}`)).status).toBe(202);
    expectProblem(await session.call("GET", "/endpoints"), 401);
  });
});

describe("portal settings", () => {
  it("are set on the project and give the portal's frame-ancestors; bad origins and colours are refused", async () => {
    const patched = await owner.call("PATCH", "/project", { portal: { brandName: "Acme", primaryColor: "#123abc", allowedOrigins: ["https://app.example.com", "http://127.0.0.1:4000"] } });
    expect(patched.status).toBe(200);
    expect(patched.body.portal).toEqual({ brandName: "Acme", logoUrl: null, primaryColor: "#123abc", allowedOrigins: ["https://app.example.com", "http://127.0.0.1:4000"] });
    expect((await owner.call("PATCH", "/project", { portal: { brandName: "Acme 2" } })).body.portal.allowedOrigins).toHaveLength(2);
    const policy = await api("GET", `/api/v1/portal/frame-ancestors/${owner.id}`);
    expect(policy.body).toEqual({ allowedOrigins: ["https://app.example.com", "http://127.0.0.1:4000"] });
    expect((await api("GET", "/api/v1/portal/frame-ancestors/prj_unknown")).body).toEqual({ allowedOrigins: [] });

    for (const [portal, path] of [
      [{ allowedOrigins: ["https://app.example.com/path"] }, "portal.allowedOrigins[0]"],
      [{ allowedOrigins: ["javascript:alert(1)"] }, "portal.allowedOrigins[0]"],
      [{ allowedOrigins: ["*"] }, "portal.allowedOrigins[0]"],
      [{ primaryColor: "red;background:url(x)" }, "portal.primaryColor"],
      [{ logoUrl: "http://insecure.example.com/logo.png" }, "portal.logoUrl"],
      [{ unknown: 1 }, "portal.unknown"],
    ] as const) {
      expect(expectProblem(await owner.call("PATCH", "/project", { portal }), 422).errors?.[0].path).toBe(path);
    }
    const session = await portalSession(owner.call, (await owner.call("POST", "/applications", { name: "branded" })).body.id);
    expect((await session.call("GET", "/portal/session")).body.branding).toEqual({ brandName: "Acme 2", logoUrl: null, primaryColor: "#123abc" });
  });
});
