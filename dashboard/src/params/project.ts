import type { ParamMatcher } from "@sveltejs/kit";

/** A project id (`prj_` + ULID): so that `/portal/favicon.svg` and the like are not taken for a portal. */
export const match: ParamMatcher = (param) => /^prj_[0-9A-HJKMNP-TV-Z]{26}$/.test(param);
