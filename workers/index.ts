/**
 * @module Entry point: wires the API, the delivery consumer, the sweeper and the endpoint health DO.
 */
import { Hono } from "hono";

export { EndpointHealth } from "./endpoint-health/endpoint-health";

const app = new Hono<{ Bindings: Env }>();
app.get("/healthz", async (c) => {
  await c.env.DB.prepare("select 1").first();
  return c.json({ ok: true, service: "ferry-api" });
});

export default {
  fetch: app.fetch,
} satisfies ExportedHandler<Env>;
