// Prints "<passed> <failed>" from a vitest JSON report or a node:test TAP file, for scripts/test.sh's totals.
import fs from "node:fs";

const [kind, file] = process.argv.slice(2);
const text = fs.existsSync(file) ? fs.readFileSync(file, "utf8") : "";
const [passed, failed] = kind === "vitest" ? fromVitest(text) : kind === "tap" ? fromTap(text) : usage();
console.log(`${passed} ${failed}`);

/** A test file that fails to load has no failed tests in it, yet must count: one failure per such file. */
function fromVitest(json) {
  if (!json) return [0, 0];
  const r = JSON.parse(json);
  const brokenFiles = (r.testResults ?? []).filter(
    (f) => f.status === "failed" && !(f.assertionResults ?? []).some((a) => a.status === "failed"),
  ).length;
  return [r.numPassedTests ?? 0, (r.numFailedTests ?? 0) + brokenFiles];
}

/** node:test ends its TAP with "# pass N", "# fail N", "# cancelled N"; a crashed file is reported as a failed test. */
function fromTap(tap) {
  const last = (key) => Number([...tap.matchAll(new RegExp(`^# ${key} (\\d+)$`, "gm"))].at(-1)?.[1] ?? 0);
  return [last("pass"), last("fail") + last("cancelled")];
}

function usage() {
  console.error("usage: test-counts.mjs vitest|tap <file>");
  process.exit(2);
}
