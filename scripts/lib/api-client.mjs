// A minimal JSON client for the Ferry API, for tests and benchmarks (no retries, no magic beyond the base path).
/**
 * @typedef {{status: number, headers: Record<string, string>, body: any, text: string}} ApiResponse
 *   `body` is parsed JSON when the response is JSON (including problem+json), otherwise the text (null when empty)
 */
/**
 * @typedef {(method: string, path: string, body?: unknown, token?: string | null, headers?: Record<string, string>) => Promise<ApiResponse>} Api
 */

/**
 * Build `api(method, path, body?, token?, headers?)` bound to a base URL.
 * - `path` is relative to `/api/v1` (`"/projects"`), unless it already starts with `/api/`, `/healthz`
 *   or `/__` (worker root routes), or is a full URL.
 * - `body`: an object is sent as JSON; a string is sent as is (for malformed-JSON tests); undefined sends nothing.
 * - `token`: sent as `Authorization: Bearer <token>`; pass `headers: {"Ferry-Project": id}` to act as admin on a project.
 * @param {string} apiUrl  e.g. `http://127.0.0.1:54321`
 * @returns {Api}
 * @example
 * const api = createApi(stack.apiUrl);
 * const { status, body } = await api("POST", "/projects", { name: "acme" }, stack.adminToken);
 */
export function createApi(apiUrl) {
  return async function api(method, path, body, token, headers = {}) {
    const url = /^https?:/.test(path) ? path : `${apiUrl}${isRootPath(path) ? "" : "/api/v1"}${path}`;
    /** @type {Record<string, string>} */
    const h = { accept: "application/json" };
    if (token) h.authorization = `Bearer ${token}`;
    if (body !== undefined) h["content-type"] = "application/json";
    const res = await fetch(url, {
      method,
      headers: { ...h, ...headers },
      body: body === undefined ? undefined : typeof body === "string" ? body : JSON.stringify(body),
      redirect: "manual",
    });
    const text = await res.text();
    const isJson = /\bjson\b/.test(res.headers.get("content-type") ?? "");
    let parsed = text === "" ? null : text;
    if (isJson && text !== "") {
      try {
        parsed = JSON.parse(text);
      } catch {
        // Leave the text: a test asserting on a broken JSON body wants to see it.
      }
    }
    return { status: res.status, headers: Object.fromEntries(res.headers), body: parsed, text };
  };
}

/** @param {string} path */
function isRootPath(path) {
  return path.startsWith("/api/") || path.startsWith("/healthz") || path.startsWith("/__");
}
