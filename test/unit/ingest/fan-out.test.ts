import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { database } from "../../../workers/db/client";
import { newId } from "../../../workers/db/ids";
import { endpoints, events } from "../../../workers/db/schema";
import { idFloor } from "../../../workers/db/ids";
import { INSERT_DELIVERIES_SQL, type FannedDelivery } from "../../../workers/ingest/fan-out";
import { seedDelivery } from "../helpers";

/** A project (from seedDelivery) with one more endpoint per filter list, then fan one event out over them. */
async function fanOut(eventType: string, filters: string[][], options: { endpointIds?: (ids: string[]) => string[]; status?: "active" | "disabled"; role?: "webhook" | "meta" } = {}) {
  // The seeded endpoint is disabled so it stays out of the way of the one under test (its delivery is paused).
  const { project, endpoint: seeded } = await seedDelivery({ url: "https://seeded.example.com/", endpoint: { status: "disabled", eventTypes: ["never.matches"] }, delivery: { status: "paused" } });
  const db = database(env);
  const now = Date.now();
  const ids = filters.map(() => newId("endpoint"));
  for (const [i, eventTypes] of filters.entries()) {
    await db.insert(endpoints).values({
      ...seeded,
      id: ids[i],
      url: `https://e${i}.example.com/`,
      eventTypes,
      // Disabled endpoints still match; their deliveries are paused, so no message is sent in this test.
      status: options.status ?? "disabled",
      role: options.role ?? "webhook",
    });
  }
  const eventId = newId("event");
  await db.insert(events).values({ id: eventId, projectId: project.id, eventType, body: "{}", idempotencyKey: null, applicationId: null, createdAt: new Date(now) });
  const written = JSON.stringify([{ id: eventId, deliveryIdFloor: idFloor("delivery", now), endpointIds: options.endpointIds?.(ids) ?? null }]);
  const { results: rows } = await env.DB.prepare(INSERT_DELIVERIES_SQL).bind(written, now).all<FannedDelivery>();
  return { ids, rows, matched: ids.map((id) => rows.some((row) => row.endpointId === id)) };
}

describe("fan-out by event type (in SQL)", () => {
  it.each([
    [[], "anything.at.all", true],
    [["invoice.paid"], "invoice.paid", true],
    [["invoice.paid"], "invoice.paid.late", false],
    [["invoice.paid"], "invoice.pai", false],
    [["invoice.*"], "invoice.paid", true],
    [["invoice.*"], "invoice.line.added", true],
    [["invoice.*"], "invoice", false],
    [["invoice.*"], "invoices.paid", false],
    [["invoice.*"], "xinvoice.paid", false],
    [["user.created", "invoice.*"], "user.created", true],
    [["user.created", "invoice.*"], "user.deleted", false],
    [["a_b.c"], "a%b.c", false],
  ] as const)("%j takes %s: %s", async (filter, eventType, taken) => {
    const { matched } = await fanOut(eventType, [[...filter]]);
    expect(matched).toEqual([taken]);
  });

  it("writes paused deliveries for disabled endpoints and queued ones for active endpoints, with well-formed ids", async () => {
    const { rows } = await fanOut("x.y", [[]], { status: "disabled" });
    expect(rows.map((row) => row.status)).toEqual(["paused"]);
    expect(rows[0].id).toMatch(/^dlv_[0-9A-HJKMNP-TV-Z]{26}$/);
  });

  it("never picks a meta endpoint by type, but does when it is named", async () => {
    expect((await fanOut("x.y", [[]], { role: "meta" })).matched).toEqual([false]);
    expect((await fanOut("x.y", [[]], { role: "meta", endpointIds: (ids) => ids })).matched).toEqual([true]);
  });

  it("named endpoints override filters", async () => {
    const { matched } = await fanOut("user.created", [["invoice.*"], ["user.created"], []], { endpointIds: (ids) => [ids[0]] });
    expect(matched).toEqual([true, false, false]);
  });
});
