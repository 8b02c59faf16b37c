/**
 * @module The MailChannels Email API client (`POST /tx/v1/send`, `X-Api-Key`), with optional DKIM signing.
 */
export type Email = { to: string[]; subject: string; text: string; html: string };
export type SendOutcome = { ok: true } | { ok: false; error: string; retryable: boolean };

const SEND_TIMEOUT_MS = 10_000;

export async function sendEmail(env: Env, email: Email): Promise<SendOutcome> {
  const body = {
    personalizations: [{ to: email.to.map((address) => ({ email: address })) }],
    from: { email: env.ALERT_FROM_EMAIL, name: "Ferry alerts" },
    subject: email.subject,
    content: [
      { type: "text/plain", value: email.text },
      { type: "text/html", value: email.html },
    ],
    ...(env.DKIM_DOMAIN && env.DKIM_SELECTOR && env.DKIM_PRIVATE_KEY
      ? { dkim_domain: env.DKIM_DOMAIN, dkim_selector: env.DKIM_SELECTOR, dkim_private_key: env.DKIM_PRIVATE_KEY }
      : {}),
  };
  try {
    const response = await fetch(env.MAILCHANNELS_API_URL, {
      method: "POST",
      headers: { "content-type": "application/json", "x-api-key": env.MAILCHANNELS_API_KEY! },
      body: JSON.stringify(body),
      signal: AbortSignal.timeout(SEND_TIMEOUT_MS),
    });
    if (response.ok) return { ok: true };
    const detail = (await response.text()).slice(0, 500);
    // 4xx other than throttling means the request itself is wrong; repeating it cannot help.
    const retryable = response.status >= 500 || response.status === 429;
    return { ok: false, error: `MailChannels answered ${response.status}: ${detail}`, retryable };
  } catch (error) {
    return { ok: false, error: `MailChannels unreachable: ${String(error)}`, retryable: true };
  }
}
