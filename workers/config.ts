/**
 * @module Deployment settings read from string variables, parsed once per isolate.
 */
import { z } from "zod";

const DEFAULT_RETRY_SCHEDULE_SECONDS = [5, 300, 1800, 7200, 18000, 36000, 50400, 72000, 86400];

const secondsList = z
  .string()
  .transform((value) => value.split(",").map((part) => part.trim()).filter(Boolean).map(Number))
  .pipe(z.array(z.number().positive().max(7 * 86400)));

const ConfigSchema = z.object({
  ALLOW_PRIVATE_NETWORK: z.stringbool().default(false),
  MAX_PAYLOAD_BYTES: z.coerce.number().int().positive().default(262_144),
  RETRY_SCHEDULE: secondsList.default([]),
  SWEEP_GRACE_SECONDS: z.coerce.number().nonnegative().default(15),
  LOCAL_RUNTIME_STARTED_AT: z.coerce.number().int().positive().optional(),
  RETENTION_SECONDS: z.coerce.number().positive().optional(),
  DASHBOARD_URL: z.string().default("http://127.0.0.1:5173"),
  PUBLIC_API_URL: z.string().default("http://127.0.0.1:8787"),
});

export type Config = {
  allowPrivateNetwork: boolean;
  maxPayloadBytes: number;
  /** Deployment-wide override of every project's retry schedule (empty = none). */
  retryScheduleOverride: number[];
  /** How far out of order the queue may hand out messages: a delivery ready this long before a heartbeat
   * that has arrived, and still unclaimed, lost its message. */
  sweepGraceMs: number;
  /** Set by `npm run dev` and the e2e stack: when the local runtime (its in-memory queue and every sender)
   * started. Messages sent and leases taken before then died with the previous runtime. Unset in production. */
  localRuntimeStartedAt: number | null;
  /** Deployment-wide override of every project's retention (tests, small deployments); null = none. */
  retentionOverrideMs: number | null;
  dashboardUrl: string;
  /** Where people reach this API, for links in alert emails. */
  publicApiUrl: string;
};

const cache = new WeakMap<object, Config>();

export function config(env: Env): Config {
  let parsed = cache.get(env);
  if (!parsed) {
    const vars = ConfigSchema.parse({
      ALLOW_PRIVATE_NETWORK: env.ALLOW_PRIVATE_NETWORK || undefined,
      MAX_PAYLOAD_BYTES: env.MAX_PAYLOAD_BYTES || undefined,
      RETRY_SCHEDULE: env.RETRY_SCHEDULE || undefined,
      SWEEP_GRACE_SECONDS: env.SWEEP_GRACE_SECONDS || undefined,
      LOCAL_RUNTIME_STARTED_AT: env.LOCAL_RUNTIME_STARTED_AT || undefined,
      RETENTION_SECONDS: env.RETENTION_SECONDS || undefined,
      DASHBOARD_URL: env.DASHBOARD_URL || undefined,
      PUBLIC_API_URL: env.PUBLIC_API_URL || undefined,
    });
    parsed = {
      allowPrivateNetwork: vars.ALLOW_PRIVATE_NETWORK,
      maxPayloadBytes: vars.MAX_PAYLOAD_BYTES,
      retryScheduleOverride: vars.RETRY_SCHEDULE,
      sweepGraceMs: vars.SWEEP_GRACE_SECONDS * 1000,
      localRuntimeStartedAt: vars.LOCAL_RUNTIME_STARTED_AT ?? null,
      retentionOverrideMs: vars.RETENTION_SECONDS === undefined ? null : vars.RETENTION_SECONDS * 1000,
      dashboardUrl: vars.DASHBOARD_URL.replace(/\/$/, ""),
      publicApiUrl: vars.PUBLIC_API_URL.replace(/\/$/, ""),
    };
    cache.set(env, parsed);
  }
  return parsed;
}

/** The schedule that applies to a project: the deployment override wins, then the project's own. */
export function retrySchedule(env: Env, projectSchedule: number[] | null): number[] {
  const { retryScheduleOverride } = config(env);
  if (retryScheduleOverride.length > 0) return retryScheduleOverride;
  return projectSchedule ?? DEFAULT_RETRY_SCHEDULE_SECONDS;
}

/** How long a project's events are kept: the deployment override wins, then the project's `retentionDays`. */
export function retentionMs(env: Env, project: { retentionDays: number }): number {
  return config(env).retentionOverrideMs ?? project.retentionDays * 86_400_000;
}

/** Data older than this is deleted (or about to be, on the retention job's next runs). */
export const retainedSince = (env: Env, project: { retentionDays: number }, now = Date.now()) => new Date(now - retentionMs(env, project));

export const PROJECT_DEFAULTS = {
  circuitOpenAfter: 5,
  disableAfter: 20,
  disableAfterSeconds: 3600,
  retentionDays: 30,
} as const;
