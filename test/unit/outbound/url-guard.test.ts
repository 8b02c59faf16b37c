import { describe, expect, it } from "vitest";
import { checkEndpointUrl } from "../../../workers/outbound/url-guard";

const strict = { allowPrivateNetwork: false };
const local = { allowPrivateNetwork: true };

const reason = (url: string, options = strict) => {
  const verdict = checkEndpointUrl(url, options);
  return verdict.ok ? "accepted" : verdict.reason;
};

describe("checkEndpointUrl without private networks", () => {
  it.each([
    ["loopback", "https://127.0.0.1/hook"],
    ["loopback, elsewhere in 127/8", "https://127.8.9.10/"],
    ["loopback, short form", "https://127.1/"],
    ["RFC 1918 10/8", "https://10.0.0.1/"],
    ["RFC 1918 172.16/12", "https://172.16.5.4/"],
    ["RFC 1918 172.31", "https://172.31.255.255/"],
    ["RFC 1918 192.168/16", "https://192.168.1.1/"],
    ["link-local", "https://169.254.1.1/"],
    ["cloud metadata", "https://169.254.169.254/latest/meta-data/"],
    ["CGNAT 100.64/10", "https://100.64.0.1/"],
    ["0.0.0.0", "https://0.0.0.0/"],
    ["0 (= 0.0.0.0)", "https://0/"],
    ["decimal IPv4", "https://2130706433/"],
    ["hex IPv4", "https://0x7f.1/"],
    ["whole hex IPv4", "https://0x7f000001/"],
    ["octal IPv4", "https://0177.0.0.1/"],
    ["full-width digits", "https://１２７.０.０.１/"],
    ["decimal metadata address", "https://2852039166/"],
    ["broadcast", "https://255.255.255.255/"],
    ["multicast", "https://224.0.0.1/"],
    ["IPv6 loopback", "https://[::1]/"],
    ["IPv6 unspecified", "https://[::]/"],
    ["IPv6 link-local", "https://[fe80::1]/"],
    ["IPv6 unique local fc00::/7", "https://[fc00::1]/"],
    ["IPv6 unique local fd", "https://[fd12:3456::1]/"],
    ["IPv4-mapped loopback", "https://[::ffff:127.0.0.1]/"],
    ["IPv4-mapped metadata", "https://[::ffff:169.254.169.254]/"],
    ["IPv4-mapped private, hex", "https://[::ffff:a00:1]/"],
    ["NAT64 of loopback", "https://[64:ff9b::7f00:1]/"],
    ["NAT64 of RFC 1918", "https://[64:ff9b::10.0.0.1]/"],
    ["6to4 of loopback", "https://[2002:7f00:1::]/"],
    ["IPv4-compatible (deprecated ::/96) loopback", "https://[::127.0.0.1]/"],
    ["IPv4-compatible metadata, hex", "https://[::a9fe:a9fe]/"],
    ["localhost", "https://localhost/"],
    ["localhost with a trailing dot", "https://localhost./"],
    ["localhost in capitals", "https://LOCALHOST/"],
    ["a *.localhost name", "https://api.localhost/"],
    ["GCP metadata", "https://metadata.google.internal/computeMetadata/v1/"],
    ["*.internal", "https://db.corp.internal/"],
    ["mDNS *.local", "https://printer.local/"],
    ["a single-label name", "https://intranet/"],
  ])("rejects %s (%s)", (_, url) => {
    const verdict = checkEndpointUrl(url, strict);
    expect(verdict.ok, url).toBe(false);
    // Refused for where it points, not merely for its scheme.
    if (!verdict.ok) expect(verdict.reason).not.toMatch(/https/);
  });

  it.each(["http://2130706433/", "http://0x7f.1/", "http://0177.0.0.1/", "http://example.com/hook", "http://127.0.0.1:9999/"])("rejects plain http: %s", (url) => {
    expect(reason(url)).toBe("must use https");
  });

  it.each(["https://user:pass@example.com/", "https://user@example.com/", "https://:secret@example.com/"])("rejects credentials in the URL: %s", (url) => {
    expect(reason(url)).toBe("must not contain credentials");
  });

  it.each(["ftp://example.com/", "file:///etc/passwd", "javascript:alert(1)", "not a url", "/relative/path", ""])("rejects what is not an https URL: %j", (url) => {
    expect(checkEndpointUrl(url, strict).ok).toBe(false);
  });

  it.each([
    "https://example.com/hook",
    "https://hooks.example.co.uk:8443/a/b?c=d",
    "https://8.8.8.8/",
    "https://[2606:4700:4700::1111]/",
    "https://[64:ff9b::8.8.8.8]/",
    "https://172.32.0.1/",
    "https://localhost.example.com/",
  ])("accepts a public https URL: %s", (url) => {
    const verdict = checkEndpointUrl(url, strict);
    expect(verdict.ok).toBe(true);
  });

  it("returns the normalised URL, so the stored URL is the one that was checked", () => {
    const verdict = checkEndpointUrl("HTTPS://Example.COM:443/a/../b", strict);
    expect(verdict.ok && verdict.url.href).toBe("https://example.com/b");
  });
});

describe("checkEndpointUrl with ALLOW_PRIVATE_NETWORK", () => {
  it.each(["http://127.0.0.1:9999/hook", "http://localhost:9999/", "https://10.0.0.1/", "http://[::1]:8080/"])("accepts %s", (url) => {
    expect(reason(url, local)).toBe("accepted");
  });

  it("still refuses other schemes and credentials", () => {
    expect(reason("ftp://127.0.0.1/", local)).toBe("must use http or https");
    expect(reason("http://user:pw@127.0.0.1:9999/", local)).toBe("must not contain credentials");
  });
});
