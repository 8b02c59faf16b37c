/**
 * @module Secrets and optional variables that `wrangler types` cannot see (they live in `.dev.vars`
 * locally and in `wrangler secret put` in production).
 */
declare namespace Cloudflare {
  interface Env {
    ADMIN_TOKEN: string;
    MAILCHANNELS_API_KEY?: string;
    DKIM_DOMAIN?: string;
    DKIM_SELECTOR?: string;
    DKIM_PRIVATE_KEY?: string;
  }
}
