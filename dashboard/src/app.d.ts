import type { Fetcher } from "@cloudflare/workers-types";
import type { Session } from "$lib/server/session";

declare global {
  namespace App {
    interface Locals {
      /** The signed-in session, or null. Filled by hooks.server.ts from the httpOnly cookie. */
      session: Session | null;
    }
    interface Error {
      message: string;
      requestId?: string;
    }
    interface Platform {
      env?: {
        /** Service binding to the ferry-api worker (production and `wrangler pages dev`). */
        API?: Fetcher;
        API_URL?: string;
      };
    }
  }
}

export {};
