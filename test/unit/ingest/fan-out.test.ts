import { describe, expect, it } from "vitest";
import { acceptsEventType } from "../../../workers/ingest/fan-out";

describe("acceptsEventType", () => {
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
  ] as const)("%j accepts %s: %s", (filters, eventType, accepted) => {
    expect(acceptsEventType(filters, eventType)).toBe(accepted);
  });
});
