import { beforeAll, describe, expect, it } from "vitest";
import { client, createEndpoint, createProject, expectProblem, rowCounts } from "../helpers";

let call: ReturnType<typeof client>;
let existing: { id: string; url: string };
beforeAll(async () => {
  const project = await createProject("endpoint-errors");
  call = client(project.apiKey);
  existing = await createEndpoint(project.apiKey, { url: "https://kept.example.com/hook" });
});

async function rejected(request: () => ReturnType<typeof call>, status: number) {
  const before = await rowCounts();
  const problem = expectProblem(await request(), status);
  expect(await rowCounts()).toEqual(before);
  return problem;
}

describe("POST /endpoints refuses bad endpoints and writes nothing", () => {
  it.each([
    "http://127.0.0.1:9999/hook",
    "https://127.0.0.1/hook",
    "https://10.1.2.3/",
    "https://169.254.169.254/latest/meta-data/",
    "https://100.64.1.1/",
    "https://0.0.0.0/",
    "https://2130706433/",
    "https://0x7f.1/",
    "https://0177.0.0.1/",
    "https://[::1]/",
    "https://[fe80::1]/",
    "https://[fc00::1]/",
    "https://[::ffff:127.0.0.1]/",
    "https://[64:ff9b::7f00:1]/",
    "https://localhost/",
    "https://api.localhost/",
    "https://metadata.google.internal/",
    "https://user:pass@example.com/",
    "http://example.com/",
    "not a url",
  ])("url %s is a 422 naming `url`", async (url) => {
    const problem = await rejected(() => call("POST", "/endpoints", { url }), 422);
    expect(problem.errors?.map((e) => e.path)).toEqual(["url"]);
  });

  it.each([
    ["missing url", {}, "url"],
    ["url of the wrong type", { url: 42 }, "url"],
    ["timeoutMs below 1000", { url: "https://a.example.com/", timeoutMs: 999 }, "timeoutMs"],
    ["timeoutMs above 30000", { url: "https://a.example.com/", timeoutMs: 30_001 }, "timeoutMs"],
    ["a secret without whsec_", { url: "https://a.example.com/", secret: "hunter2" }, "secret"],
    ["a bad event type filter", { url: "https://a.example.com/", eventTypes: ["invoice.**"] }, "eventTypes[0]"],
    ["a header Ferry sets", { url: "https://a.example.com/", headers: { "webhook-signature": "forged" } }, "headers.webhook-signature"],
    ["content-type as a custom header", { url: "https://a.example.com/", headers: { "Content-Type": "text/plain" } }, "headers.Content-Type"],
    ["an unknown field", { url: "https://a.example.com/", secrett: "typo" }, "secrett"],
    ["a header value with CR LF (it could never be sent)", { url: "https://a.example.com/", headers: { "X-A": "a\r\nInjected: yes" } }, "headers.X-A"],
    ["a header value with NUL", { url: "https://a.example.com/", headers: { "X-A": "a\u0000b" } }, "headers.X-A"],
  ])("%s is a 422", async (_, body, path) => {
    const problem = await rejected(() => call("POST", "/endpoints", body), 422);
    expect(problem.errors?.map((e) => e.path)).toContain(path);
  });

  it("malformed JSON is a 400", async () => {
    await rejected(() => call("POST", "/endpoints", undefined, { raw: '{"url": ' }), 400);
  });
});

describe("changing endpoints", () => {
  it.each(["https://[::1]/", "http://example.com/", "", "not a url"])("PATCH with url %j is a 422 and keeps the old url", async (url) => {
    const problem = expectProblem(await call("PATCH", `/endpoints/${existing.id}`, { url }), 422);
    expect(problem.errors?.[0].path).toBe("url");
    expect((await call("GET", `/endpoints/${existing.id}`)).body.url).toBe("https://kept.example.com/hook");
  });

  it("PATCH /project with an SSRF meta endpoint is a 422", async () => {
    const problem = expectProblem(await call("PATCH", "/project", { metaEndpointUrl: "https://169.254.169.254/" }), 422);
    expect(problem.errors?.[0].path).toBe("metaEndpointUrl");
    expect((await call("GET", "/project")).body.metaEndpointUrl).toBeNull();
  });

  it("PATCH /project refuses a bad retry schedule", async () => {
    for (const retrySchedule of [[], [0], [-1], [1.5], ["5"], Array.from({ length: 31 }, () => 1)]) {
      expectProblem(await call("PATCH", "/project", { retrySchedule }), 422);
    }
  });

  it("an unknown endpoint is a 404 on every route", async () => {
    for (const [method, path] of [
      ["GET", "/endpoints/ep_nope"],
      ["PATCH", "/endpoints/ep_nope"],
      ["DELETE", "/endpoints/ep_nope"],
      ["GET", "/endpoints/ep_nope/secret"],
      ["POST", "/endpoints/ep_nope/secret/rotate"],
      ["POST", "/endpoints/ep_nope/test"],
    ]) {
      expectProblem(await call(method, path, method === "PATCH" ? { description: "x" } : undefined), 404);
    }
  });
});
