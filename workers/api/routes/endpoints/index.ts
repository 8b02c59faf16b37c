/**
 * @module Endpoints, split by concern like the resource's URL space: CRUD, secrets, lifecycle.
 */
import { OpenAPIHono } from "@hono/zod-openapi";
import type { AppEnv } from "../../env";
import { endpointCrud } from "./crud";
import { endpointLifecycle } from "./lifecycle";
import { endpointSecrets } from "./secrets";

export const endpointRoutes = new OpenAPIHono<AppEnv>().route("/", endpointCrud).route("/", endpointSecrets).route("/", endpointLifecycle);
