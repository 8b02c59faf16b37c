/**
 * @module The project a request acts on, set once after authentication: handlers read `c.var.projectId` and
 * `c.var.db` instead of each deriving them from the principal and the binding (and forgetting one).
 */
import type { MiddlewareHandler } from "hono";
import { database, type Database } from "../db/client";
import { projectIdOf } from "./auth";
import type { AppEnv } from "./env";

export type ProjectScopeVariables = { projectId: string; db: Database };

/** After `apiKeyAuth({ scope: "project" })`: a request without a project principal is refused here. */
export function projectScope(): MiddlewareHandler<AppEnv> {
  return async function projectScope(c, next) {
    c.set("projectId", projectIdOf(c.get("principal")));
    c.set("db", database(c.env));
    await next();
  };
}
