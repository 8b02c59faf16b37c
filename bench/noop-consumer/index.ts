// The no-op consumer ceiling: a queue handler that only POSTs each message to the receiver and acks it.
// `POST /fill` puts `count` messages on its queue; `POST /api/v1/events` answers like bench/noop (readiness check).
type Job = { url: string; run: string; seq: number };
type Env = { JOBS: Queue<Job> };

export default {
  async fetch(request: Request, env: Env): Promise<Response> {
    const { pathname } = new URL(request.url);
    if (pathname === "/fill") {
      const { url, run, count } = (await request.json()) as { url: string; run: string; count: number };
      for (let first = 0; first < count; first += 100) {
        const jobs = Array.from({ length: Math.min(100, count - first) }, (_, i) => ({ body: { url, run, seq: first + i } }));
        await env.JOBS.sendBatch(jobs);
      }
      return Response.json({ ok: true }, { status: 202 });
    }
    await request.text();
    return Response.json({ ok: true }, { status: 202 });
  },
  async queue(batch: MessageBatch<Job>): Promise<void> {
    await Promise.all(
      batch.messages.map(async (message) => {
        const { url, run, seq } = message.body;
        const response = await fetch(url, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ type: "bench.drain", data: { run, seq } }) });
        await response.arrayBuffer();
        message.ack();
      }),
    );
  },
};
