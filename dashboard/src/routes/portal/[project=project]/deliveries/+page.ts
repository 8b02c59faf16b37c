import { DELIVERY_STATUSES, type Delivery, type DeliveryStatus, type Page } from "$lib/types";
import { load as get } from "$lib/portal/session";
import type { PageLoad } from "./$types";

export const load: PageLoad = async ({ fetch, params, url, depends }) => {
  depends("ferry:poll");
  const status = url.searchParams.get("status") as DeliveryStatus | null;
  const endpointId = url.searchParams.get("endpointId");
  const cursor = url.searchParams.get("cursor");
  const query = new URLSearchParams({ limit: "50" });
  if (status && DELIVERY_STATUSES.includes(status)) query.set("status", status);
  if (endpointId) query.set("endpointId", endpointId);
  if (cursor) query.set("cursor", cursor);
  const deliveries = await get<Page<Delivery>>(fetch, params.project, `/deliveries?${query}`);
  return { deliveries: deliveries.data, nextCursor: deliveries.nextCursor, status, endpointId, now: Date.now() };
};
