import { redirect } from "@sveltejs/kit";
import type { PageLoad } from "./$types";

// After the layout has opened the session from the link, so the redirect cannot race the exchange.
export const load: PageLoad = async ({ parent }) => {
  const { base } = await parent();
  redirect(307, `${base}/endpoints`);
};
