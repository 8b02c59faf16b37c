// The customer portal in real Chromium against the real local stack: a portal link opened in a fresh browser
// shows one customer's endpoints and deliveries and nobody else's, resends, hides every action when read-only,
// ends cleanly when expired or revoked, works inside an iframe on an allowed (cross-site) origin and is refused
// on any other, and renders hostile payloads as text. Plus the admin's Applications page.
import assert from "node:assert/strict";
import http from "node:http";
import { after, before, describe, test } from "node:test";
import { startStack } from "../../scripts/lib/stack.mjs";
import { startReceiver } from "../e2e/support/receiver.mjs";
import { eventually, launchChromium, open, screenshot, waitForText } from "./support/browser.mjs";

const XSS = "<script>window.__ferryXss = 1</script><img src=x onerror=\"window.__ferryXss = 2\">";

/** @type {import("../../scripts/lib/stack.mjs").Stack} */
let stack;
/** @type {import("../e2e/support/receiver.mjs").Receiver} */
let rx;
/** @type {import("playwright-core").Browser} */
let browser;
/** @type {ReturnType<import("../../scripts/lib/stack.mjs").Stack["client"]>} */
let api;
let base = "";
let projectId = "";
let apiKey = "";
/** @type {Record<string, any>} */
const app = {};
/** @type {Record<string, any>} */
const ep = {};
/** @type {Record<string, any>} */
const ev = {};
/** @type {{ url: string, close: () => Promise<void> }[]} */
const embedders = [];
/** @type {import("playwright-core").Page | undefined} */
let lastPage;

/** A page on another origin that frames `src`. `localhost` vs the dashboard's `127.0.0.1`: another site, not only another port. */
async function startEmbedder() {
  let src = "about:blank";
  const server = http.createServer((req, res) => {
    if (req.url?.startsWith("/set?")) {
      src = new URL(req.url, "http://x").searchParams.get("src") ?? src;
      return res.end("ok");
    }
    res.setHeader("content-type", "text/html");
    res.end(`<!doctype html><title>Sender's app</title><h1>Sender's settings page</h1><iframe id="portal" src="${src.replace(/"/g, "&quot;")}" width="1200" height="800"></iframe>`);
  });
  await new Promise((resolve) => server.listen(0, "127.0.0.1", () => resolve(undefined)));
  const port = /** @type {import("node:net").AddressInfo} */ (server.address()).port;
  const embedder = {
    url: `http://localhost:${port}`,
    frame: async (/** @type {string} */ target) => void (await fetch(`http://127.0.0.1:${port}/set?src=${encodeURIComponent(target)}`)),
    close: () => new Promise((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve(undefined));
    }),
  };
  embedders.push(embedder);
  return embedder;
}

async function portalLink(application, body = {}) {
  const link = await api("POST", `/applications/${application}/portal-links`, body);
  assert.equal(link.status, 201, link.text);
  return link.body.url;
}

/** A fresh browser context: no cookies, no storage, nothing of the admin's. */
async function freshPage() {
  const context = await browser.newContext({ viewport: { width: 1280, height: 860 } });
  const page = await context.newPage();
  page.setDefaultTimeout(20_000);
  page.on("pageerror", (error) => console.error(`[pageerror] ${error.message}`));
  page.on("console", (message) => message.type() === "error" && console.error(`[console] ${message.text()}`));
  // Earlier tests' pages keep polling; one page at a time keeps the stack quiet.
  await lastPage?.context().close().catch(() => {});
  lastPage = page;
  return page;
}

async function rowIds(page, table, attribute) {
  await page.locator(`[data-testid=${table}]`).waitFor();
  return page.locator(`[data-testid=${table}] tbody tr`).evaluateAll((trs, attr) => trs.map((tr) => tr.getAttribute(attr)), attribute);
}

function step(name, fn) {
  return async () => {
    try {
      await fn();
    } catch (err) {
      if (lastPage) await screenshot(lastPage, `FAILED-portal-${name}`).catch(() => {});
      console.error(`--- ${name} failed at ${lastPage?.url()} ---\n${stack?.logs().split("\n").slice(-30).join("\n")}`);
      throw err;
    }
  };
}

let allowed;
let stranger;

before(async () => {
  rx = await startReceiver();
  rx.route("/a-ok", { status: 200, body: "thanks from A" });
  rx.route("/a-down", { status: 503, body: "A is down" });
  rx.route("/b-ok", { status: 200, body: "thanks from B" });
  [stack, browser, allowed, stranger] = await Promise.all([startStack({ dashboard: true, vars: { RETRY_SCHEDULE: "1,1" } }), launchChromium(), startEmbedder(), startEmbedder()]);
  base = stack.dashboardUrl ?? "";

  const project = await stack.api("POST", "/projects", { name: "Acme Payments" }, stack.adminToken);
  assert.equal(project.status, 201, project.text);
  projectId = project.body.id;
  apiKey = project.body.apiKey;
  api = stack.client(apiKey);
  const patched = await api("PATCH", "/project", { circuitOpenAfter: 1000, disableAfter: 100000, portal: { brandName: "Acme Payments", primaryColor: "#0f766e", allowedOrigins: [allowed.url] } });
  assert.equal(patched.status, 200, patched.text);

  app.a = (await api("POST", "/applications", { name: "Domino's", uid: "cus_dominos" })).body;
  app.b = (await api("POST", "/applications", { name: "Pizza Hut", uid: "cus_pizzahut" })).body;
  ep.aOk = (await api("POST", "/endpoints", { url: rx.url("/a-ok"), description: "Domino's orders", applicationId: "cus_dominos" })).body;
  ep.aDown = (await api("POST", "/endpoints", { url: rx.url("/a-down"), description: "Domino's ledger", applicationId: "cus_dominos", eventTypes: ["invoice.*"] })).body;
  ep.b = (await api("POST", "/endpoints", { url: rx.url("/b-ok"), description: "Pizza Hut orders", applicationId: "cus_pizzahut" })).body;
  ep.own = (await api("POST", "/endpoints", { url: rx.url("/a-ok"), description: "Acme's own" })).body;
  for (const e of [ep.aOk, ep.aDown, ep.b, ep.own]) assert.ok(e?.id, "endpoints created");

  const send = async (body) => {
    const sent = await api("POST", "/events", body);
    assert.equal(sent.status, 202, sent.text);
    return sent.body;
  };
  ev.aOrder = await send({ eventType: "order.created", payload: { order: 1, note: XSS }, application: "cus_dominos" });
  ev.aInvoice = await send({ eventType: "invoice.paid", payload: { invoice: 2 }, application: "cus_dominos" });
  ev.b = await send({ eventType: "order.created", payload: { order: 3, secretOfB: "pizza-hut-only" }, application: "cus_pizzahut" });
  ev.own = await send({ eventType: "order.created", payload: { order: 4, secretOfProject: "acme-only" } });
  await eventually(async () => {
    const failed = await api("GET", "/deliveries?status=failed&application=cus_dominos");
    const ok = await api("GET", "/deliveries?status=succeeded&limit=250");
    return failed.body.data.length === 1 && ok.body.data.length === 4;
  }, "deliveries settled");
});

after(async () => {
  await browser?.close();
  await stack?.stop();
  await rx?.close();
  await Promise.all(embedders.map((e) => e.close()));
});

describe("customer portal", () => {
  test(
    "a portal link in a fresh browser shows exactly that customer's endpoints and deliveries, with no cookie and no token in the URL",
    step("scoped", async () => {
      const page = await freshPage();
      await open(page, await portalLink("cus_dominos"));
      assert.deepEqual((await rowIds(page, "endpoint-table", "data-endpoint-id")).sort(), [ep.aOk.id, ep.aDown.id].sort());
      await waitForText(page.locator("[data-testid=portal-customer]"), /Domino's/);
      await waitForText(page.locator("[data-testid=portal-brand]"), /Acme Payments/);
      assert.equal(await page.locator("aside").count(), 0, "no admin navigation");
      assert.ok(!page.url().includes("#"), "the link's capability left the address bar");
      assert.equal((await page.context().cookies()).length, 0, "the portal sets no cookie");
      const stored = await page.evaluate(() => sessionStorage.getItem("ferry.portal.session") ?? "");
      assert.match(stored, /ferry_ps_/, "the session token is kept in this tab's sessionStorage");
      assert.ok(!stored.includes(apiKey));
      await screenshot(page, "portal-01-endpoints");

      await page.click("nav[aria-label=Portal] >> text=Deliveries");
      const deliveries = await rowIds(page, "delivery-table", "data-delivery-id");
      const expected = [...ev.aOrder.deliveries, ...ev.aInvoice.deliveries].map((d) => d.id);
      assert.deepEqual(deliveries.sort(), expected.sort());
      const text = await page.locator("main").innerText();
      assert.ok(!text.includes(ep.b.id) && !text.includes("b-ok") && !text.includes("Pizza Hut"), "nothing of the other customer");
      await screenshot(page, "portal-02-deliveries");

      await page.click("nav[aria-label=Portal] >> text=Event types");
      await waitForText(page.locator("[data-testid=event-types]"), /invoice\.paid[\s\S]*order\.created/);

      // Another customer's (and the project's own) ids answer "not found".
      for (const path of [`/deliveries/${ev.b.deliveries[0].id}`, `/endpoints/${ep.b.id}`, `/endpoints/${ep.own.id}`]) {
        await open(page, `${base}/portal/${projectId}${path}`);
        await waitForText(page.locator("[data-testid=portal-error]"), /Not found/);
      }
    }),
  );

  test(
    "payloads with <script> render as text in the portal",
    step("xss", async () => {
      const page = await freshPage();
      await open(page, await portalLink("cus_dominos"));
      await page.locator("[data-testid=endpoint-table]").waitFor();
      const delivery = ev.aOrder.deliveries.find((d) => d.endpointId === ep.aOk.id);
      await open(page, `${base}/portal/${projectId}/deliveries/${delivery.id}`);
      const attempt = page.locator("[data-testid=attempt]").first();
      await attempt.waitFor();
      await waitForText(attempt, /<script>window\.__ferryXss = 1<\/script>/);
      assert.equal(await page.evaluate(() => /** @type {any} */ (window).__ferryXss), undefined, "no injected script ran");
      assert.equal(await page.locator("main script, main img[src=x]").count(), 0);
      await screenshot(page, "portal-03-delivery");
    }),
  );

  test(
    "resend works from the portal: one delivery, and the selected ones",
    step("resend", async () => {
      const page = await freshPage();
      await open(page, await portalLink("cus_dominos"));
      await page.locator("[data-testid=endpoint-table]").waitFor();
      const delivery = ev.aInvoice.deliveries.find((d) => d.endpointId === ep.aOk.id);
      const before = rx.requests("/a-ok").length;
      await open(page, `${base}/portal/${projectId}/deliveries/${delivery.id}`);
      await page.locator("[data-testid=attempt]").first().waitFor();
      await page.click("[data-testid=resend]");
      await eventually(async () => (await page.locator("[data-testid=attempt]").count()) === 2, "a second attempt appears");
      await waitForText(page.locator("[data-testid=attempt]").first(), /manual resend/);
      assert.equal(rx.requests("/a-ok").length, before + 1);

      await open(page, `${base}/portal/${projectId}/deliveries?status=failed`);
      const failed = ev.aInvoice.deliveries.find((d) => d.endpointId === ep.aDown.id);
      assert.deepEqual(await rowIds(page, "delivery-table", "data-delivery-id"), [failed.id]);
      const downBefore = rx.requests("/a-down").length;
      await page.check(`input[value="${failed.id}"]`);
      await page.click("[data-testid=resend-selected]");
      await waitForText(page.locator(".notice[role=status]"), /1 delivery queued/);
      await eventually(async () => rx.requests("/a-down").length > downBefore, "the failed delivery was sent again");
    }),
  );

  test(
    "endpoints are managed from the portal: add, test, disable, enable, reveal and rotate the secret, delete",
    step("manage", async () => {
      const page = await freshPage();
      await open(page, await portalLink("cus_dominos"));
      await page.click("text=+ Add endpoint");
      await page.fill("input[name=url]", rx.url("/a-ok"));
      await page.fill("input[name=description]", "Added by Domino's");
      await page.click("button:has-text('Create endpoint')");
      await page.waitForURL(/\/endpoints\/ep_/);
      const id = page.url().match(/endpoints\/(ep_[^/?]+)/)?.[1];
      const created = await api("GET", `/endpoints/${id}`);
      assert.equal(created.body.applicationId, app.a.id, "created in the customer's application");

      const received = rx.requests("/a-ok").length;
      await page.click("[data-testid=send-test]");
      await eventually(async () => rx.requests("/a-ok").length > received, "the test event arrived");
      await page.click("text=Reveal");
      const secret = await page.locator("[data-testid=secret]").innerText();
      assert.equal(secret, (await api("GET", `/endpoints/${id}/secret`)).body.secret);
      await page.click("[data-testid=rotate-secret]");
      await eventually(async () => (await page.locator("[data-testid=secret]").innerText()) !== secret, "a new secret is shown");
      // Each click waits for the page to show the new state, so the second one cannot act on stale data.
      await page.click("[data-testid=toggle-endpoint]");
      await waitForText(page.locator("[data-testid=toggle-endpoint]"), /^Enable$/);
      assert.equal((await api("GET", `/endpoints/${id}`)).body.status, "disabled");
      await page.click("[data-testid=toggle-endpoint]");
      await waitForText(page.locator("[data-testid=toggle-endpoint]"), /^Disable$/);
      assert.equal((await api("GET", `/endpoints/${id}`)).body.status, "active");
      page.once("dialog", (dialog) => dialog.accept());
      await page.click("[data-testid=delete-endpoint]");
      await page.waitForURL(/\/endpoints$/);
      assert.equal((await api("GET", `/endpoints/${id}`)).status, 404);
    }),
  );

  test(
    "a read-only link shows everything and offers no action",
    step("read-only", async () => {
      const page = await freshPage();
      await open(page, await portalLink("cus_dominos", { readOnly: true }));
      await page.locator("[data-testid=endpoint-table]").waitFor();
      await page.locator("[data-testid=read-only]").waitFor();
      assert.equal(await page.locator("text=+ Add endpoint").count(), 0);
      await open(page, `${base}/portal/${projectId}/endpoints/${ep.aOk.id}`);
      await waitForText(page.locator("main"), /Health/);
      for (const action of ["send-test", "toggle-endpoint", "delete-endpoint", "rotate-secret"]) assert.equal(await page.locator(`[data-testid=${action}]`).count(), 0, action);
      assert.equal(await page.locator("text=Reveal").count(), 0);
      await open(page, `${base}/portal/${projectId}/deliveries`);
      await page.locator("[data-testid=delivery-table]").waitFor();
      assert.equal(await page.locator("[data-testid=resend-selected], [data-testid=resend-matching], input[type=checkbox]").count(), 0);
      await open(page, `${base}/portal/${projectId}/deliveries/${ev.aOrder.deliveries[0].id}`);
      await page.locator("[data-testid=attempt]").first().waitFor();
      assert.equal(await page.locator("[data-testid=resend]").count(), 0);
    }),
  );

  test(
    "an expired, revoked or broken link shows a clear page",
    step("ended", async () => {
      const expired = await portalLink("cus_dominos", { expiresInSeconds: 1 });
      await new Promise((resolve) => setTimeout(resolve, 1500));
      const page = await freshPage();
      await open(page, expired);
      await waitForText(page.locator("[data-testid=portal-error]"), /expired or was revoked/);
      await screenshot(page, "portal-04-expired");

      await open(page, `${base}/portal/${projectId}#ferry_pl_not-a-real-token`);
      await waitForText(page.locator("[data-testid=portal-error]"), /expired or was revoked/);

      const revokedPage = await freshPage();
      await open(revokedPage, await portalLink("cus_pizzahut"));
      await revokedPage.locator("[data-testid=endpoint-table]").waitFor();
      assert.equal((await api("DELETE", "/applications/cus_pizzahut/portal-links")).status, 204);
      await revokedPage.click("nav[aria-label=Portal] >> text=Deliveries");
      await waitForText(revokedPage.locator("[data-testid=portal-error]"), /expired or was revoked/);
      await revokedPage.reload();
      await waitForText(revokedPage.locator("[data-testid=portal-error]"), /expired or was revoked/);
    }),
  );

  test(
    "embedded in an iframe on an allowed origin (another site) it works; on any other origin it is refused",
    step("iframe", async () => {
      const link = await portalLink("cus_dominos");
      const headers = (await fetch(link.split("#")[0])).headers;
      assert.match(headers.get("content-security-policy") ?? "", new RegExp(`frame-ancestors ${allowed.url.replace(/[.:/]/g, "\\$&")}(;|$)`));

      await allowed.frame(link);
      const page = await freshPage();
      await page.goto(allowed.url);
      const frame = page.frameLocator("#portal");
      await frame.locator("[data-testid=endpoint-table]").waitFor({ timeout: 60_000 });
      assert.equal(await frame.locator("[data-testid=endpoint-table] tbody tr").count(), 2);
      await frame.locator("nav[aria-label=Portal] >> text=Deliveries").click();
      await frame.locator("[data-testid=delivery-table]").waitFor();
      await screenshot(page, "portal-05-embedded");

      await stranger.frame(await portalLink("cus_dominos"));
      const refused = await freshPage();
      const blocked = new Promise((resolve) => refused.on("console", (message) => /frame-ancestors/.test(message.text()) && resolve(true)));
      await refused.goto(stranger.url);
      assert.equal(await Promise.race([blocked, new Promise((resolve) => setTimeout(() => resolve(false), 10_000))]), true, "Chromium reports the frame-ancestors refusal");
      const portalFrames = await Promise.all(refused.frames().map((f) => f.locator("[data-testid=portal]").count().catch(() => 0)));
      assert.equal(portalFrames.reduce((a, b) => a + b, 0), 0, "the portal did not render inside the stranger's page");
    }),
  );

  test(
    "the admin's Applications page lists and creates applications and opens a portal as that customer",
    step("admin", async () => {
      const page = await freshPage();
      await open(page, `${base}/login`);
      await page.fill("input[name=token]", apiKey);
      await page.click("button[type=submit]");
      await page.waitForURL((url) => !url.pathname.startsWith("/login"));
      await open(page, `${base}/applications`);
      const listed = await rowIds(page, "application-table", "data-application-id");
      assert.ok(listed.includes(app.a.id) && listed.includes(app.b.id));
      await page.fill("input[name=name]", "Papa John's");
      await page.fill("input[name=uid]", "cus_papajohns");
      await page.click("button:has-text('Create application')");
      await waitForText(page.locator("[data-testid=application-table]"), /Papa John's/);
      const created = await api("GET", "/applications/cus_papajohns");
      assert.equal(created.status, 200);
      await screenshot(page, "portal-06-admin-applications");

      const [portal] = await Promise.all([
        page.context().waitForEvent("page"),
        page.locator(`tr[data-application-id="${app.a.id}"] [data-testid=open-portal]`).click(),
      ]);
      lastPage = portal;
      await portal.locator("[data-testid=endpoint-table]").waitFor({ timeout: 60_000 });
      assert.deepEqual((await rowIds(portal, "endpoint-table", "data-endpoint-id")).sort(), [ep.aOk.id, ep.aDown.id].sort());
    }),
  );
});
