/**
 * Applies the real migrations (from `migrations/`, read by vitest.config.ts) to each test file's fresh D1.
 * It runs them with a plain D1 batch rather than `applyD1Migrations` from `cloudflare:test`: importing that
 * module costs about 4 s per test file on this machine, which every pure unit test would pay for nothing.
 */
import { env } from "cloudflare:workers";

const TRACKING = "d1_migrations";
await env.DB.prepare(`create table if not exists ${TRACKING} (name text primary key, applied_at text not null)`).run();
const applied = new Set((await env.DB.prepare(`select name from ${TRACKING}`).all<{ name: string }>()).results.map((row) => row.name));
for (const migration of env.TEST_MIGRATIONS) {
  if (applied.has(migration.name)) continue;
  await env.DB.batch([
    ...migration.queries.map((query) => env.DB.prepare(query)),
    env.DB.prepare(`insert into ${TRACKING} (name, applied_at) values (?, datetime('now'))`).bind(migration.name),
  ]);
}
