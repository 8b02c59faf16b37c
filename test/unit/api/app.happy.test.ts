import { describe, expect, it } from "vitest";
import { api, expectProblem } from "../helpers";

describe("the app", () => {
  it("GET /healthz answers 200 without auth when the Worker and D1 answer", async () => {
    const response = await api("GET", "/healthz");
    expect(response.status).toBe(200);
    expect(response.body).toMatchObject({ ok: true, service: "ferry-api" });
  });

  it("GET /api/v1/openapi.json is an OpenAPI 3.1 document listing every route, served without auth", async () => {
    const response = await api("GET", "/api/v1/openapi.json");
    expect(response.status).toBe(200);
    const doc = response.body;
    expect(doc.openapi).toMatch(/^3\.1\./);
    expect(doc.info).toMatchObject({ title: expect.any(String), version: expect.any(String) });
    const routes = Object.entries(doc.paths as Record<string, Record<string, unknown>>).flatMap(([path, item]) => Object.keys(item).map((method) => `${method.toUpperCase()} ${path}`));
    expect(routes).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^POST \/projects\/?$/),
        expect.stringMatching(/^GET \/projects\/?$/),
        "GET /project",
        "PATCH /project",
        "POST /api-keys",
        "GET /api-keys",
        "DELETE /api-keys/{id}",
        "POST /endpoints",
        "GET /endpoints",
        "GET /endpoints/{id}",
        "PATCH /endpoints/{id}",
        "DELETE /endpoints/{id}",
        "GET /endpoints/{id}/secret",
        "POST /endpoints/{id}/secret/rotate",
        "POST /events",
        "POST /events/batch",
        "GET /events",
        "GET /events/{id}",
        "GET /deliveries",
        "GET /deliveries/{id}",
        "POST /deliveries/{id}/resend",
        "POST /deliveries/resend",
        "GET /jobs/{id}",
      ]),
    );
    // The document is built from the same zod schemas that validate requests.
    const eventIn = doc.components.schemas.EventIn;
    expect(eventIn.required).toEqual(expect.arrayContaining(["eventType"]));
    expect(eventIn.additionalProperties).toBe(false);
    expect(doc.paths["/events"].post.responses).toHaveProperty("202");
    // Work left running in bounded steps is named in the answer that started it.
    expect(JSON.stringify(doc.components.schemas.EndpointEnabled)).toContain('"jobId"');
    expect(doc.paths["/deliveries/resend"].post.responses["202"].content["application/json"].schema.properties).toHaveProperty("jobId");
    expect(doc.paths["/jobs/{id}"].get.responses).toHaveProperty("200");
    expect(doc.components.securitySchemes.bearer).toMatchObject({ type: "http", scheme: "bearer" });
  });

  it("an unknown route is a 404 problem", async () => {
    expectProblem(await api("GET", "/nope"), 404);
    expectProblem(await api("GET", "/api/v1/nope", { token: "x" }), 401);
  });
});
