// The portal renders in the browser only: its session is a token in this tab's sessionStorage, which a server
// render could not see (there is deliberately no cookie; see lib/portal/session.ts).
export const ssr = false;
