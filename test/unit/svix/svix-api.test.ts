/**
 * The Svix wire mapping inside workerd: error bodies, idempotency keys, iterators, eventId conflicts, event types.
 */
import { describe, expect, it } from "vitest";
import { api, createProject } from "../helpers";

const svix = (token: string) => (method: string, path: string, body?: unknown, headers: Record<string, string> = {}) =>
  api(method, `/svix/api/v1${path}`, { token, body, headers });

describe("Svix API mapping", { timeout: 30_000 }, () => {
  it("answers Svix's 422 body naming the field, and 401 as {code, detail}", async () => {
    const { apiKey } = await createProject("svix-422");
    const call = svix(apiKey);
    const bad = await call("POST", "/app", { name: "" });
    expect(bad.status).toBe(422);
    expect(bad.body.detail[0]).toMatchObject({ loc: ["body", "name"], msg: expect.any(String), type: expect.any(String) });
    const url = await call("POST", "/app", { name: "a", uid: "cus-422" }).then(() => call("POST", "/app/cus-422/endpoint", { url: "ftp://nope" }));
    expect(url.status).toBe(422);
    expect(url.body.detail[0].loc).toEqual(["body", "url"]);
    const anonymous = await api("GET", "/svix/api/v1/app", { token: "nope" });
    expect(anonymous.status).toBe(401);
    expect(anonymous.body).toEqual({ code: "authentication_failed", detail: expect.any(String) });
    const missing = await call("GET", "/app/app_missing");
    expect(missing.status).toBe(404);
    expect(missing.body.code).toBe("not_found");
  });

  it("replays the first answer to a retried idempotency key and creates once; 409 on a duplicate uid", async () => {
    const { apiKey } = await createProject("svix-idem");
    const call = svix(apiKey);
    const first = await call("POST", "/app", { name: "Acme", uid: "acme" }, { "idempotency-key": "auto_1" });
    const retry = await call("POST", "/app", { name: "Acme", uid: "acme" }, { "idempotency-key": "auto_1" });
    expect(first.status).toBe(201);
    expect(retry.status).toBe(201);
    expect(retry.body.id).toBe(first.body.id);
    expect(retry.headers.get("idempotent-replayed")).toBe("true");
    const duplicate = await call("POST", "/app", { name: "Acme", uid: "acme" }, { "idempotency-key": "auto_2" });
    expect(duplicate.status).toBe(409);
    expect(duplicate.body.code).toBe("conflict");
    const existing = await call("POST", "/app?get_if_exists=true", { name: "Acme", uid: "acme" });
    expect(existing.status).toBe(200);
    expect(existing.body.id).toBe(first.body.id);
    const list = await call("GET", "/app");
    expect(list.body.data).toHaveLength(1);

    const message = { eventType: "invoice.paid", eventId: "evt-1", payload: { n: 1 } };
    const sent = await call("POST", "/app/acme/msg", message, { "idempotency-key": "auto_3" });
    const resent = await call("POST", "/app/acme/msg", message, { "idempotency-key": "auto_3" });
    expect(sent.status).toBe(202);
    expect(resent.body.id).toBe(sent.body.id);
    const again = await call("POST", "/app/acme/msg", message, { "idempotency-key": "auto_4" });
    expect(again.status).toBe(409);
    const byEventId = await call("GET", "/app/acme/msg/evt-1");
    expect(byEventId.body).toMatchObject({ id: sent.body.id, eventId: "evt-1", payload: { n: 1 } });
  });

  it("pages with limit and iterator until done", async () => {
    const { apiKey } = await createProject("svix-pages");
    const call = svix(apiKey);
    await call("POST", "/app", { name: "Pages", uid: "pages" });
    const sent: string[] = [];
    for (let i = 0; i < 5; i++) sent.push((await call("POST", "/app/pages/msg", { eventType: "a.b", payload: { i } })).body.id);
    const seen: string[] = [];
    let iterator: string | null = null;
    for (let page = 0; page < 10; page++) {
      const res = await call("GET", `/app/pages/msg?limit=2${iterator ? `&iterator=${iterator}` : ""}`);
      expect(res.body.prevIterator).toBeNull();
      seen.push(...res.body.data.map((m: { id: string }) => m.id));
      iterator = res.body.iterator;
      if (res.body.done) break;
    }
    expect(seen).toEqual([...sent].reverse());
    const tooMany = await call("GET", "/app/pages/msg?limit=251");
    expect(tooMany.status).toBe(422);
    expect(tooMany.body.detail[0].loc).toEqual(["query", "limit"]);
  });

  it("round-trips event types: create, 409, get, patch, put-create, archive, list", async () => {
    const { apiKey } = await createProject("svix-types");
    const call = svix(apiKey);
    const created = await call("POST", "/event-type", { name: "user.created", description: "A user", schemas: { "1": { examples: [{ id: 1 }] } } });
    expect(created.status).toBe(201);
    expect((await call("POST", "/event-type", { name: "user.created", description: "again" })).status).toBe(409);
    expect((await call("PATCH", "/event-type/user.created", { deprecated: true })).body).toMatchObject({ name: "user.created", description: "A user", deprecated: true });
    expect((await call("PUT", "/event-type/user.deleted", { description: "Gone" })).status).toBe(201);
    expect((await call("DELETE", "/event-type/user.deleted")).status).toBe(204);
    const listed = await call("GET", "/event-type");
    expect(listed.body.data.map((t: { name: string }) => t.name)).toEqual(["user.created"]);
    const all = await call("GET", "/event-type?include_archived=true&with_content=true");
    expect(all.body.data.map((t: { name: string; archived: boolean }) => [t.name, t.archived])).toEqual([["user.created", false], ["user.deleted", true]]);
    expect(all.body.data[0].schemas).toEqual({ "1": { examples: [{ id: 1 }] } });
  });
});
