/**
 * @module Which endpoints an event goes to: the named ones, or every endpoint whose filter matches its type.
 */
import type { Endpoint } from "../db/schema";

/** An empty filter takes every type; `invoice.*` takes `invoice.paid` and `invoice.line.added`. */
export function acceptsEventType(filters: readonly string[], eventType: string): boolean {
  if (filters.length === 0) return true;
  return filters.some((filter) => (filter.endsWith(".*") ? eventType.startsWith(filter.slice(0, -1)) : filter === eventType));
}

export function subscribedEndpoints(endpoints: readonly Endpoint[], eventType: string, endpointIds?: readonly string[]): Endpoint[] {
  if (endpointIds) {
    const named = new Set(endpointIds);
    return endpoints.filter((endpoint) => named.has(endpoint.id));
  }
  return endpoints.filter((endpoint) => endpoint.role === "webhook" && acceptsEventType(endpoint.eventTypes, eventType));
}
