// The no-op ceiling: one Hono route that reads the JSON body and answers 202, nothing else (no D1, queue or DO).
import { Hono } from "hono";

const app = new Hono();

app.post("/api/v1/events", async (c) => {
  await c.req.json();
  return c.json({ ok: true }, 202);
});

export default app;
