/**
 * A fingerprint of the whole database: row counts and a SHA-256 of every row of every table, so a fuzzed
 * request that was rejected can be shown to have written nothing. The one column left out is
 * `api_keys.last_used_at`: authentication records (at most once an hour) that a valid key was used, whatever
 * the request then asked for.
 */
import { env } from "cloudflare:workers";

export type DbSnapshot = { counts: Record<string, number>; hashes: Record<string, string> };

let tables: string[] | undefined;

export async function snapshotDb(): Promise<DbSnapshot> {
  tables ??= (
    await env.DB.prepare("select name from sqlite_master where type = 'table' and name not like 'sqlite_%' and name not like '_cf_%' and name != 'd1_migrations' order by name").all<{ name: string }>()
  ).results.map((row) => row.name);
  const results = await env.DB.batch(tables.map((table) => env.DB.prepare(`select * from "${table}" order by rowid`)));
  const counts: Record<string, number> = {};
  const hashes: Record<string, string> = {};
  for (const [i, table] of tables.entries()) {
    const rows = results[i].results as Record<string, unknown>[];
    counts[table] = rows.length;
    const kept = table === "api_keys" ? rows.map(({ last_used_at: _, ...row }) => row) : rows;
    const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(JSON.stringify(kept)));
    hashes[table] = [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, "0")).join("");
  }
  return { counts, hashes };
}

/** Tables whose rows differ between two snapshots. */
export function changedTables(before: DbSnapshot, after: DbSnapshot): string[] {
  return Object.keys(after.hashes).filter((table) => before.hashes[table] !== after.hashes[table]);
}
