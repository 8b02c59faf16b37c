/**
 * @module Alert email content: plain text and HTML, with every user-supplied value escaped in the HTML.
 */
import type { Email } from "./mailchannels";

export type EndpointAlertFacts = {
  projectId: string;
  projectName: string;
  endpointId: string;
  endpointUrl: string;
  reason: string;
  consecutiveFailures: number;
  failingSince: string | null;
  lastStatusCode: number | null;
  lastError: string | null;
  lastResponseExcerpt: string | null;
  waitingDeliveries: number;
  dashboardUrl: string;
  apiUrl: string;
};

const escapeHtml = (value: string) =>
  value.replace(/[&<>"']/g, (ch) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[ch]!);

function factLines(f: EndpointAlertFacts): [string, string][] {
  return [
    ["Endpoint", `${f.endpointUrl} (${f.endpointId})`],
    ["Project", `${f.projectName} (${f.projectId})`],
    ["Why", f.reason],
    ["Consecutive failures", String(f.consecutiveFailures)],
    ["Failing since", f.failingSince ?? "unknown"],
    ["Last status code", f.lastStatusCode === null ? "none (no response)" : String(f.lastStatusCode)],
    ["Last error", f.lastError ?? "none"],
    ["Deliveries waiting", String(f.waitingDeliveries)],
  ];
}

function render(f: EndpointAlertFacts, subject: string, intro: string, next: string[]): Omit<Email, "to"> {
  const facts = factLines(f);
  const excerpt = f.lastResponseExcerpt ? f.lastResponseExcerpt : "(empty)";
  const text = [intro, "", ...facts.map(([k, v]) => `${k}: ${v}`), "", "Last response body (excerpt):", excerpt, "", ...next].join("\n");
  const html = `<!doctype html><html><body style="font-family:system-ui,sans-serif;color:#111">
<p>${escapeHtml(intro)}</p>
<table cellpadding="4" style="border-collapse:collapse">${facts
    .map(([k, v]) => `<tr><th align="left" style="color:#555">${escapeHtml(k)}</th><td>${escapeHtml(v)}</td></tr>`)
    .join("")}</table>
<p><strong>Last response body (excerpt)</strong></p><pre style="background:#f4f4f5;padding:8px;white-space:pre-wrap">${escapeHtml(excerpt)}</pre>
${next.map((line) => `<p>${escapeHtml(line)}</p>`).join("\n")}
</body></html>`;
  return { subject, text, html };
}

export function endpointDisabledEmail(f: EndpointAlertFacts): Omit<Email, "to"> {
  return render(f, `[Ferry] Endpoint disabled: ${f.endpointUrl}`, "Ferry disabled a webhook endpoint that kept failing. Its deliveries are paused, not dropped.", [
    `Re-enable it once it is fixed: ${f.dashboardUrl}/endpoints/${f.endpointId}`,
    `Or with the API: curl -X POST -H "Authorization: Bearer $FERRY_API_KEY" ${f.apiUrl}/api/v1/endpoints/${f.endpointId}/enable`,
    `The ${f.waitingDeliveries} paused deliveries are sent as soon as it is enabled.`,
  ]);
}

export function circuitOpenedEmail(f: EndpointAlertFacts): Omit<Email, "to"> {
  return render(f, `[Ferry] Endpoint failing: ${f.endpointUrl}`, "A webhook endpoint has started failing. Ferry is pausing sends to it and probing it until it recovers.", [
    `It will be disabled if it keeps failing. Details: ${f.dashboardUrl}/endpoints/${f.endpointId}`,
  ]);
}
