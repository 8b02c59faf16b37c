// Chromium (Debian's, via playwright-core) and small waiting helpers for the dashboard browser tests.
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { chromium } from "playwright-core";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../..");
export const SCREENSHOT_DIR = path.join(ROOT, "test-results/screenshots");

/** Flags that keep headless Chromium quiet and offline-friendly on a shared CI box. */
const ARGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
  "--disable-quic",
  "--no-first-run",
];

/** @returns {Promise<import("playwright-core").Browser>} */
export function launchChromium() {
  const executablePath = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";
  if (!fs.existsSync(executablePath)) {
    throw new Error(`${executablePath} not found: install Debian's chromium (apt-get install -y chromium); .ci/run does this`);
  }
  return chromium.launch({ executablePath, args: ARGS });
}

/**
 * Full-page PNG into test-results/screenshots/<name>.png.
 * @param {import("playwright-core").Page} page @param {string} name
 */
export async function screenshot(page, name) {
  fs.mkdirSync(SCREENSHOT_DIR, { recursive: true });
  // Let toasts, badges and fonts settle so the picture shows what a person would see.
  await page.waitForTimeout(150);
  await page.screenshot({ path: path.join(SCREENSHOT_DIR, `${name}.png`), fullPage: true });
}

/**
 * Navigate and wait until Svelte has hydrated (the root layout sets body[data-hydrated] in onMount),
 * so no click is lost to a page that is not interactive yet.
 * @param {import("playwright-core").Page} page @param {string} url
 */
export async function open(page, url) {
  await page.goto(url);
  await page.waitForSelector("body[data-hydrated]", { timeout: 60_000 });
}

/**
 * Poll `fn` until it returns a truthy value; fail with `message` (and the last value) after `timeoutMs`.
 * @template T @param {() => Promise<T>} fn @param {string} message @param {number} [timeoutMs]
 * @returns {Promise<T>}
 */
export async function eventually(fn, message, timeoutMs = 20_000) {
  const deadline = Date.now() + timeoutMs;
  let last;
  for (;;) {
    last = await fn().catch((err) => err);
    if (last && !(last instanceof Error)) return last;
    if (Date.now() > deadline) throw new Error(`${message} (last: ${last instanceof Error ? last.message : JSON.stringify(last)})`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

/**
 * Wait until the locator's visible text matches.
 * @param {import("playwright-core").Locator} locator @param {RegExp} pattern @param {number} [timeoutMs]
 */
export async function waitForText(locator, pattern, timeoutMs = 20_000) {
  return eventually(
    async () => {
      const text = await locator.innerText({ timeout: 2_000 });
      return pattern.test(text) ? text : undefined;
    },
    `text matching ${pattern}`,
    timeoutMs,
  );
}
