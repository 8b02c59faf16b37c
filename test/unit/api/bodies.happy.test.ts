import { eq } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { RESPONSE_EXCERPT_BYTES, byteLength, excerptOf } from "../../../workers/db/bodies";
import { database } from "../../../workers/db/client";
import { attempts, events } from "../../../workers/db/schema";
import { client, createEndpoint, createProject, env, eventually, fakeReceivers } from "../helpers";

let receivers: ReturnType<typeof fakeReceivers>;
beforeAll(() => {
  receivers = fakeReceivers();
});
afterAll(() => receivers.restore());
const db = database(env);

describe("large bodies in R2, read back transparently", { timeout: 20_000 }, () => {
  it("a large event and a 2 KB response: D1 keeps a reference and an excerpt, the API and the receiver see every byte", async () => {
    const responseBody = `{"ok":true,"echo":"${"é".repeat(1000)}"}`;
    receivers.on("https://big.example.com/", () => new Response(responseBody, { headers: { "x-receiver": "r1" } }));
    const project = await createProject("bodies");
    const call = client(project.apiKey);
    await createEndpoint(project.apiKey, { url: "https://big.example.com/hook", headers: { "X-Tenant": "t-9" } });
    const payloads = [{ small: true }, { large: "L".repeat(5000) }, { large: "M".repeat(3000) }];
    const batch = await call("POST", "/events/batch", { events: payloads.map((payload) => ({ eventType: "body.test", payload })) });
    expect(batch.status).toBe(202);
    const ids: string[] = batch.body.events.map((e: any) => e.id);

    const rows = await Promise.all(ids.map(async (id) => (await db.select({ body: events.body }).from(events).where(eq(events.id, id)))[0].body));
    expect(JSON.parse(rows[0]).data).toEqual({ small: true });
    // Both large bodies share one object: one R2 write for the whole ingest call.
    expect(rows[1]).toMatch(/^r2:events\/evt_\w+#0,\d+$/);
    expect(rows[2].split("#")[0]).toBe(rows[1].split("#")[0]);
    for (const [i, id] of ids.entries()) expect((await call("GET", `/events/${id}`)).body.payload).toEqual(payloads[i]);

    const deliveryId = batch.body.events[1].deliveries[0].id;
    const delivery = await eventually(async () => {
      const { body } = await call("GET", `/deliveries/${deliveryId}`);
      return body.status === "succeeded" && body;
    });
    const received = receivers.requests("https://big.example.com/").find((r) => r.headers["webhook-id"] === ids[1])!;
    const [attempt] = delivery.attempts;
    expect(attempt.request.body).toBe(received.body);
    expect(JSON.parse(received.body).data).toEqual(payloads[1]);
    const sent = Object.fromEntries(Object.entries(attempt.request.headers as Record<string, string>).map(([name, value]) => [name.toLowerCase(), value]));
    expect(sent).toEqual(received.headers);
    expect(attempt.response).toEqual({ status: 200, headers: expect.objectContaining({ "x-receiver": "r1" }), body: responseBody, bodyTruncated: false });

    const [row] = await db.select().from(attempts).where(eq(attempts.id, attempt.id));
    expect(row.request).toEqual({ url: "https://big.example.com/hook", signature: received.headers["webhook-signature"], endpointHeaders: { "X-Tenant": "t-9" } });
    expect(row.response).toMatchObject({ status: 200, excerpt: excerptOf(responseBody), bodyBytes: byteLength(responseBody) });
    expect(byteLength((row.response as { excerpt: string }).excerpt)).toBeLessThanOrEqual(RESPONSE_EXCERPT_BYTES);
  });

  it("cuts an excerpt at a character boundary, never inside one", () => {
    const text = "é".repeat(RESPONSE_EXCERPT_BYTES);
    const excerpt = excerptOf(text);
    expect(byteLength(excerpt)).toBe(RESPONSE_EXCERPT_BYTES);
    expect(excerpt).toBe("é".repeat(RESPONSE_EXCERPT_BYTES / 2));
    expect(excerptOf("a" + text)).toBe("a" + "é".repeat(RESPONSE_EXCERPT_BYTES / 2 - 1));
    expect(excerptOf("short")).toBe("short");
  });
});
