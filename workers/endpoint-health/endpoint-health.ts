/**
 * @module The endpoint health Durable Object: one per endpoint, keyed by endpoint id.
 */
import { DurableObject } from "cloudflare:workers";

export class EndpointHealth extends DurableObject<Env> {}
