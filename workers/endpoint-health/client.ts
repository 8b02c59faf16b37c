/**
 * @module How the API and the consumer talk to an endpoint's health Durable Object, and what they say.
 */
import type { CircuitState, SendPermit } from "./policy";

export type EndpointHealthSnapshot = {
  circuitState: CircuitState;
  consecutiveFailures: number;
  failingSince: string | null;
  lastSuccessAt: string | null;
  lastFailureAt: string | null;
  lastStatusCode: number | null;
  lastError: string | null;
  circuitReopensAt: string | null;
  /** Its last attempt was slow, so its sends go through its own lane rather than the shared queue consumer. */
  slow: boolean;
};

export type AdmitRequest = {
  endpointId: string;
  /** The batch's deliveries to this endpoint; each names its reserved rate-limit slot, if it was given one. */
  deliveryIds: readonly string[];
  rateLimitPerSecond: number | null;
  /** True when the slow lane asks, just before it sends. */
  inSlowLane?: boolean;
};

/** A hand-off to the slow lane carries when the lane promises to have claimed the delivery. */
export type SendAnswer = SendPermit | { allow: true; probe: false; slow: true; pickupBy: number };

export function healthStub(env: Pick<Env, "ENDPOINT_HEALTH">, endpointId: string) {
  return env.ENDPOINT_HEALTH.get(env.ENDPOINT_HEALTH.idFromName(endpointId));
}

export async function endpointHealth(env: Env, endpointId: string): Promise<EndpointHealthSnapshot> {
  return healthStub(env, endpointId).snapshot();
}

export async function resetEndpointHealth(env: Env, endpointId: string): Promise<void> {
  await healthStub(env, endpointId).reset();
}
