/**
 * @module How an API request ingests: its shared write lives on past the answer (`waitUntil`), and sends its
 * first attempts itself when the Worker's entry gave the app the delivery path's fast path.
 */
import type { Context } from "hono";
import type { IngestOptions } from "../ingest/ingest";
import type { SendFirstAttempts } from "../ingest/dispatch";
import type { AppEnv } from "./env";

export type IngestVariables = { sendFirstAttempts?: SendFirstAttempts };

export function ingestOptions(c: Context<AppEnv>): IngestOptions {
  return { waitUntil: (promise) => c.executionCtx.waitUntil(promise), sendFirstAttempts: c.var.sendFirstAttempts };
}
