/** @module Reads the endpoint create/edit form into an `EndpointIn` body, with per-field messages for bad input. */

import type { EndpointFormValues } from "$lib/types";

export interface EndpointBody {
  url: string;
  description: string | null;
  eventTypes: string[];
  headers: Record<string, string>;
  timeoutMs?: number;
  rateLimitPerSecond: number | null;
}

export function parseEndpointForm(form: FormData) {
  const text = (key: string) => String(form.get(key) ?? "").trim();
  const values: EndpointFormValues = {
    url: text("url"),
    description: text("description"),
    eventTypes: text("eventTypes"),
    headers: text("headers"),
    timeoutMs: text("timeoutMs"),
    rateLimitPerSecond: text("rateLimitPerSecond"),
  };
  const fieldErrors: Record<string, string> = {};

  if (!/^https?:\/\/\S+$/i.test(values.url)) fieldErrors.url = "Enter an http(s) URL.";
  const headers: Record<string, string> = {};
  for (const line of values.headers.split("\n").map((l) => l.trim()).filter(Boolean)) {
    const colon = line.indexOf(":");
    if (colon < 1) {
      fieldErrors.headers = `“${line.slice(0, 40)}” is not “Name: value”.`;
      break;
    }
    headers[line.slice(0, colon).trim()] = line.slice(colon + 1).trim();
  }
  const timeout = values.timeoutMs ? Number(values.timeoutMs) : undefined;
  if (timeout !== undefined && !(Number.isInteger(timeout) && timeout > 0)) fieldErrors.timeoutMs = "Whole milliseconds, above 0.";
  const rate = values.rateLimitPerSecond ? Number(values.rateLimitPerSecond) : null;
  if (rate !== null && !(Number.isInteger(rate) && rate > 0)) fieldErrors.rateLimitPerSecond = "A whole number above 0, or empty.";

  const body: EndpointBody = {
    url: values.url,
    description: values.description || null,
    eventTypes: values.eventTypes.split(/[\s,]+/).filter(Boolean),
    headers,
    timeoutMs: timeout,
    rateLimitPerSecond: rate,
  };
  return { values, body, fieldErrors, valid: Object.keys(fieldErrors).length === 0 };
}

export function endpointToValues(ep: {
  url: string;
  description: string | null;
  eventTypes: string[];
  headers: Record<string, string>;
  timeoutMs: number;
  rateLimitPerSecond: number | null;
}): EndpointFormValues {
  return {
    url: ep.url,
    description: ep.description ?? "",
    eventTypes: ep.eventTypes.join(", "),
    headers: Object.entries(ep.headers ?? {}).map(([k, v]) => `${k}: ${v}`).join("\n"),
    timeoutMs: String(ep.timeoutMs ?? ""),
    rateLimitPerSecond: ep.rateLimitPerSecond ? String(ep.rateLimitPerSecond) : "",
  };
}
