/**
 * @module SSRF guard for endpoint URLs: checked when an endpoint is saved and again before every send.
 * The WHATWG URL parser already normalises numeric IPv4 spellings (`2130706433`, `0x7f.1`, `0177.0.0.1`)
 * to dotted quads, so every IP literal is judged in its canonical form.
 */
import ipaddr from "ipaddr.js";

export type UrlGuardOptions = { allowPrivateNetwork: boolean };
export type UrlVerdict = { ok: true; url: URL } | { ok: false; reason: string };

/** Names that resolve to the machine itself or to cloud metadata services. */
const BLOCKED_HOSTNAMES = [/^localhost$/, /\.localhost$/, /\.local$/, /\.internal$/, /^metadata$/, /^instance-data$/];

export function checkEndpointUrl(raw: string, options: UrlGuardOptions): UrlVerdict {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return { ok: false, reason: "is not a valid absolute URL" };
  }
  if (url.protocol !== "https:" && !(options.allowPrivateNetwork && url.protocol === "http:")) {
    return { ok: false, reason: options.allowPrivateNetwork ? "must use http or https" : "must use https" };
  }
  if (url.username || url.password) return { ok: false, reason: "must not contain credentials" };
  if (options.allowPrivateNetwork) return { ok: true, url };

  const host = url.hostname.replace(/^\[|\]$/g, "").toLowerCase().replace(/\.$/, "");
  if (ipaddr.isValid(host)) {
    const range = publicRange(host);
    return range === "unicast" ? { ok: true, url } : { ok: false, reason: `points at a ${range} address` };
  }
  if (!host.includes(".") || BLOCKED_HOSTNAMES.some((pattern) => pattern.test(host))) {
    return { ok: false, reason: "points at a local host name" };
  }
  return { ok: true, url };
}

/** The range of an IP literal; IPv4 embedded in IPv6 (mapped, compatible, NAT64, 6to4) is judged as IPv4. */
function publicRange(host: string): string {
  let address = ipaddr.parse(host);
  if (address.kind() === "ipv6") {
    const v6 = address as ipaddr.IPv6;
    const range = v6.range();
    // `::a.b.c.d` (deprecated IPv4-compatible, ::/96) is "unicast" to ipaddr.js but carries an IPv4 address too.
    const ipv4Compatible = range === "unicast" && v6.parts.slice(0, 6).every((part) => part === 0);
    if (v6.isIPv4MappedAddress() || ipv4Compatible || range === "rfc6052" || range === "rfc6145") {
      address = ipaddr.IPv4.parse(v6.parts.slice(6).map((p) => [p >> 8, p & 255].join(".")).join("."));
    } else if (range === "6to4") address = ipaddr.IPv4.parse([v6.parts[1] >> 8, v6.parts[1] & 255, v6.parts[2] >> 8, v6.parts[2] & 255].join("."));
    else return range;
  }
  return address.range();
}
