/** @module List filters live in the URL (shareable views); this turns search params into API queries and back. */
import { DELIVERY_STATUSES, type DeliveryStatus } from "./types";

export const RANGES = [
  { value: "1h", label: "Last hour", ms: 3_600_000 },
  { value: "24h", label: "Last 24 hours", ms: 86_400_000 },
  { value: "7d", label: "Last 7 days", ms: 7 * 86_400_000 },
  { value: "30d", label: "Last 30 days", ms: 30 * 86_400_000 },
] as const;

export interface ListFilters {
  eventType: string;
  status: DeliveryStatus | "";
  endpointId: string;
  eventId: string;
  search: string;
  range: string;
  since: string;
  until: string;
  cursor: string;
  /** Page size, 1..250 (the API's bounds); 50 unless the URL says otherwise. */
  limit: number;
}

const FIELDS = ["eventType", "status", "endpointId", "eventId", "search", "range", "since", "until", "cursor", "limit"] as const;

export function readFilters(params: URLSearchParams): ListFilters {
  const get = (key: string) => (params.get(key) ?? "").trim();
  const status = get("status");
  return {
    eventType: get("eventType"),
    status: (DELIVERY_STATUSES as readonly string[]).includes(status) ? (status as DeliveryStatus) : "",
    endpointId: get("endpointId"),
    eventId: get("eventId"),
    search: get("search"),
    range: RANGES.some((r) => r.value === get("range")) || get("range") === "custom" ? get("range") : "",
    since: get("since"),
    until: get("until"),
    cursor: get("cursor"),
    limit: Math.min(250, Math.max(1, Number.parseInt(get("limit"), 10) || 50)),
  };
}

/** `datetime-local` values carry no zone; the dashboard treats them as UTC, and the form labels say so. */
function toIso(local: string): string | undefined {
  if (!local) return undefined;
  const date = new Date(/[zZ]|[+-]\d\d:\d\d$/.test(local) ? local : `${local}Z`);
  return Number.isNaN(date.getTime()) ? undefined : date.toISOString();
}

/** The time window as ISO strings; a preset range is resolved against `now`. */
export function timeWindow(filters: ListFilters, now = Date.now()): { since?: string; until?: string } {
  const preset = RANGES.find((r) => r.value === filters.range);
  if (preset) return { since: new Date(now - preset.ms).toISOString() };
  return { since: toIso(filters.since), until: toIso(filters.until) };
}

export function isFiltered(filters: ListFilters): boolean {
  return FIELDS.some((key) => key !== "cursor" && key !== "limit" && filters[key] !== "");
}

/** Same view, some fields changed; empty values drop out so URLs stay short. */
export function withParams(url: URL, changes: Record<string, string | null>): string {
  const params = new URLSearchParams(url.searchParams);
  for (const [key, value] of Object.entries(changes)) {
    if (value) params.set(key, value);
    else params.delete(key);
  }
  const qs = params.toString();
  return `${url.pathname}${qs ? `?${qs}` : ""}`;
}

export function describeRange(filters: ListFilters): string {
  const preset = RANGES.find((r) => r.value === filters.range);
  if (preset) return preset.label.toLowerCase();
  if (!filters.since && !filters.until) return "";
  if (filters.since && filters.until) return `between ${filters.since} and ${filters.until} UTC`;
  if (filters.since) return `since ${filters.since} UTC`;
  if (filters.until) return `until ${filters.until} UTC`;
  return "";
}
