/**
 * Test helpers: call the real Worker in-process, create isolated projects, and stand in for receivers
 * by answering the consumer's outbound fetches.
 */
import { env, exports } from "cloudflare:workers";
import { vi } from "vitest";

export const ADMIN_TOKEN = "test-admin-token";
export const BASE = "http://ferry.test";

export type ApiResponse<T = any> = { status: number; headers: Headers; body: T };

export async function api<T = any>(method: string, path: string, options: { token?: string; body?: unknown; raw?: string; headers?: Record<string, string> } = {}): Promise<ApiResponse<T>> {
  const headers: Record<string, string> = { ...options.headers };
  if (options.token) headers.authorization = `Bearer ${options.token}`;
  if (options.body !== undefined || options.raw !== undefined) headers["content-type"] ??= "application/json";
  const response = await exports.default.fetch(new Request(BASE + path, { method, headers, body: options.raw ?? (options.body === undefined ? undefined : JSON.stringify(options.body)) }));
  const text = await response.text();
  let body: any = text;
  try {
    body = text ? JSON.parse(text) : null;
  } catch {}
  return { status: response.status, headers: response.headers, body };
}

export async function createProject(name = "acme"): Promise<{ id: string; apiKey: string }> {
  const created = await api("POST", "/api/v1/projects", { token: ADMIN_TOKEN, body: { name } });
  if (created.status !== 201) throw new Error(`project not created: ${JSON.stringify(created.body)}`);
  return created.body;
}

export async function createEndpoint(apiKey: string, body: Record<string, unknown>) {
  const created = await api("POST", "/api/v1/endpoints", { token: apiKey, body });
  if (created.status !== 201) throw new Error(`endpoint not created: ${JSON.stringify(created.body)}`);
  return created.body as { id: string; secret: string; url: string };
}

export type ReceivedRequest = { url: string; method: string; headers: Record<string, string>; body: string; at: number };
type Responder = (request: ReceivedRequest, count: number) => Response | Promise<Response>;

/**
 * Answers the consumer's outbound requests by URL prefix. Bodies are read inside the mock: a Request
 * from the consumer's context cannot be read later from the test's.
 */
export function fakeReceivers() {
  const routes = new Map<string, Responder>();
  const received: ReceivedRequest[] = [];
  const spy = vi.spyOn(globalThis, "fetch").mockImplementation(async (input, init) => {
    const request = new Request(input as RequestInfo, init as RequestInit);
    const entry: ReceivedRequest = { url: request.url, method: request.method, headers: Object.fromEntries(request.headers), body: await request.text(), at: Date.now() };
    received.push(entry);
    const route = [...routes.keys()].find((prefix) => request.url.startsWith(prefix));
    if (!route) return new Response("no receiver", { status: 404 });
    return routes.get(route)!(entry, received.filter((r) => r.url.startsWith(route)).length);
  });
  return {
    on(prefix: string, responder: Responder) {
      routes.set(prefix, responder);
    },
    requests: (prefix: string) => received.filter((r) => r.url.startsWith(prefix)),
    restore: () => spy.mockRestore(),
  };
}

/** Polls until `check` returns a truthy value; the consumer runs in the background after a ≤1 s batch window. */
export async function eventually<T>(check: () => Promise<T | undefined | null | false>, timeoutMs = 8000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      const value = await check();
      if (value) return value;
    } catch (error) {
      last = error;
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`condition not met within ${timeoutMs} ms${last ? `: ${last}` : ""}`);
}

export { env };
