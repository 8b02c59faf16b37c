/** @module Wire types of the Ferry API (see briefs/api-contract.md), shared by server loads and components. */

export const DELIVERY_STATUSES = ["queued", "sending", "retrying", "succeeded", "failed", "paused"] as const;
export type DeliveryStatus = (typeof DELIVERY_STATUSES)[number];

export interface Page<T> {
  data: T[];
  nextCursor: string | null;
}

export interface Problem {
  type?: string;
  title?: string;
  status: number;
  detail?: string;
  requestId?: string;
  errors?: { path: string; message: string }[];
}

export interface Project {
  id: string;
  name: string;
  alertEmails: string[];
  retrySchedule: number[];
  circuitOpenAfter: number;
  disableAfter: number;
  disableAfterSeconds: number;
  metaEndpointUrl: string | null;
  retentionDays: number;
  /** The retention in effect (a deployment may override retentionDays). */
  retentionSeconds: number;
  /** Data goes back to about this time. */
  retainedSince: string;
  createdAt: string;
  updatedAt: string;
}

export interface EndpointHealth {
  circuitState: "closed" | "open" | "half_open";
  consecutiveFailures: number;
  failingSince: string | null;
  lastSuccessAt: string | null;
  lastFailureAt: string | null;
  lastStatusCode: number | null;
  lastError: string | null;
  /** When an open circuit lets the next probe through. */
  circuitReopensAt?: string | null;
  /** Its last attempt took 5 s or more, so its sends run in a lane of their own. */
  slow?: boolean;
}

export interface Endpoint {
  id: string;
  url: string;
  description: string | null;
  eventTypes: string[];
  headers: Record<string, string>;
  timeoutMs: number;
  rateLimitPerSecond: number | null;
  status: "active" | "disabled";
  disabledReason: string | null;
  disabledAt: string | null;
  createdAt: string;
  updatedAt: string;
  health?: EndpointHealth | null;
}

export type DeliveryCounts = Record<DeliveryStatus, number>;

export interface EventSummary {
  id: string;
  eventType: string;
  idempotencyKey: string | null;
  createdAt: string;
  deliveryCounts: DeliveryCounts;
}

export interface Delivery {
  id: string;
  eventId: string;
  endpointId: string;
  endpointUrl: string;
  eventType: string;
  status: DeliveryStatus;
  attemptCount: number;
  nextAttemptAt: string | null;
  lastStatusCode: number | null;
  lastError: string | null;
  lastAttemptAt: string | null;
  createdAt: string;
  updatedAt: string;
}

export interface EventDetail extends Omit<EventSummary, "deliveryCounts"> {
  payload: unknown;
  deliveries: Delivery[];
}

export interface Attempt {
  id: string;
  attempt: number;
  trigger: "scheduled" | "manual";
  startedAt: string;
  durationMs: number | null;
  request: { url: string; headers: Record<string, string>; body: string };
  response: { status: number; headers: Record<string, string>; body: string; bodyTruncated: boolean } | null;
  error: string | null;
}

export interface DeliveryDetail extends Delivery {
  attempts: Attempt[];
}

export interface StatsBucket {
  start: string;
  deliveries: number;
  succeeded: number;
  failed: number;
  p50Ms: number | null;
  p95Ms: number | null;
}

export interface Stats {
  since: string;
  until: string;
  retainedSince: string;
  events: number;
  deliveries: number;
  succeeded: number;
  failed: number;
  pending: number;
  /** More pending than the API counts: `pending` is a lower bound. */
  pendingCapped: boolean;
  successRate: number | null;
  buckets: StatsBucket[];
}

export interface Alert {
  id: string;
  kind: string;
  endpointId: string | null;
  status: string;
  recipients: string[];
  subject: string;
  /** The e-mail's plain-text body. */
  text?: string;
  attempts?: number;
  createdAt: string;
  sentAt: string | null;
  lastError: string | null;
}

/** A one-shot notice carried across a redirect (see server/flash.ts). */
export interface Flash {
  id: string;
  kind: "success" | "error" | "info";
  message: string;
}

/** The endpoint form's raw text values (see endpoint-form.ts). */
export interface EndpointFormValues {
  url: string;
  description: string;
  eventTypes: string;
  headers: string;
  timeoutMs: string;
  rateLimitPerSecond: string;
}

/** One of the project's customers (see the API's /applications). */
export interface Application {
  id: string;
  uid: string | null;
  name: string;
  metadata: Record<string, string>;
  rateLimitPerSecond: number | null;
  createdAt: string;
  updatedAt: string;
}

export interface PortalLink {
  url: string;
  expiresAt: string;
  readOnly: boolean;
}
