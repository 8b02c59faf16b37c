/**
 * @module The API's typed Hono environment.
 */
import type { RequestIdVariables } from "hono/request-id";
import type { AuthVariables } from "./auth";
import type { IngestVariables } from "./ingest-context";
import type { ProjectScopeVariables } from "./project-scope";

export type AppEnv = {
  Bindings: Env;
  Variables: RequestIdVariables & AuthVariables & ProjectScopeVariables & IngestVariables;
};
