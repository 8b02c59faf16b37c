import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { generateApiKey } from "../../../workers/api/auth";
import { database } from "../../../workers/db/client";
import { newId } from "../../../workers/db/ids";
import { apiKeys, deliveries } from "../../../workers/db/schema";
import { api, deliveryRow, seedDelivery } from "../helpers";

describe("POST /deliveries/resend with dryRun", () => {
  it("counts exactly what a resend would queue, and changes nothing", async () => {
    const { project, delivery: first } = await seedDelivery({ url: "https://dry.example.com/hook", delivery: { status: "failed" } });
    const db = database(env);
    const key = await generateApiKey();
    await db.insert(apiKeys).values({ id: newId("apiKey"), projectId: project.id, name: "test", prefix: key.prefix, hashedKey: key.hashedKey, createdAt: new Date() });
    const others = (["failed", "succeeded", "paused"] as const).map((status) => ({ ...first, id: newId("delivery"), status }));
    await db.insert(deliveries).values(others);

    const dry = await api("POST", "/api/v1/deliveries/resend", { token: key.key, body: { status: "failed", dryRun: true } });
    expect(dry.status).toBe(200);
    expect(dry.body).toEqual({ count: 2 });
    const all = await api("POST", "/api/v1/deliveries/resend", { token: key.key, body: { dryRun: true } });
    expect(all.body).toEqual({ count: 3 });
    for (const row of [first, ...others]) expect((await deliveryRow(row.id)).status).toBe(row.status);
  });
});
