// Spawns long-running children in their own process group and guarantees the whole group dies with us.
import { spawn } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import { setTimeout as sleep } from "node:timers/promises";

/** @type {Set<Group>} */
const live = new Set();
let hooked = false;

/**
 * @typedef {object} Group
 * @property {string} name
 * @property {import("node:child_process").ChildProcess} child  the group leader
 * @property {number} pid       pid of the leader, which is also the process-group id
 * @property {Promise<number|null>} exited  resolves with the leader's exit code
 * @property {(timeoutMs?: number) => Promise<void>} stop  SIGTERM the group, SIGKILL what is left after timeoutMs
 * @property {boolean} stopping  set once stop() was called, so an exit watcher can tell a crash from a shutdown
 */

/**
 * Spawn `cmd args` as the leader of a new process group. wrangler alone fans out to node → workerd ×2 + esbuild,
 * so killing one pid leaves orphans; signalling `-pid` reaches all of them.
 * @param {string} name  label for messages
 * @param {string} cmd
 * @param {string[]} args
 * @param {import("node:child_process").SpawnOptions} [options]
 * @returns {Group}
 */
export function spawnGroup(name, cmd, args, options = {}) {
  installExitHooks();
  const child = spawn(cmd, args, { stdio: "inherit", ...options, detached: true });
  if (child.pid === undefined) throw new Error(`${name}: could not spawn ${cmd}`);
  const pid = child.pid;
  const exited = new Promise((resolve) => {
    child.once("exit", (code, signal) => resolve(code ?? (signal ? 128 + os.constants.signals[signal] : null)));
    child.once("error", () => resolve(null));
  });
  // A watchdog in its own group: if this process is SIGKILLed (no exit hooks run), the children still go.
  const watchdog = spawn("sh", ["-c", WATCHDOG, "watchdog", String(process.pid), String(pid)], {
    detached: true,
    stdio: "ignore",
  });
  watchdog.unref();
  /** @type {Group} */
  const group = {
    name,
    child,
    pid,
    exited,
    stopping: false,
    async stop(timeoutMs = 5000) {
      group.stopping = true;
      signalGroup(pid, "SIGTERM");
      if (!(await waitGone(pid, timeoutMs))) {
        signalGroup(pid, "SIGKILL");
        await waitGone(pid, 2000);
      }
      signalGroup(/** @type {number} */ (watchdog.pid), "SIGKILL");
      live.delete(group);
    },
  };
  live.add(group);
  return group;
}

// POSIX sh (dash): its kill builtin rejects "--", and "-PGID" after the signal already means a group.
const WATCHDOG = `while kill -0 "$1" 2>/dev/null; do sleep 1; done
kill -TERM "-$2" 2>/dev/null; sleep 3; kill -KILL "-$2" 2>/dev/null; exit 0`;

/** Stop every group this process started, in parallel. */
export async function stopAll(timeoutMs = 5000) {
  await Promise.all([...live].map((g) => g.stop(timeoutMs)));
}

/**
 * Shut down (as on SIGTERM) once this process is orphaned. Needed under `npm run`: npm passes SIGTERM to its
 * `sh -c` child, which dies without passing it on, and the script would keep running with all its children.
 */
export function exitWithParent() {
  const parent = process.ppid;
  const timer = setInterval(() => {
    if (process.ppid === parent) return;
    clearInterval(timer);
    process.kill(process.pid, "SIGTERM");
  }, 1000);
  timer.unref();
}

/**
 * @returns {boolean} whether a live (non-zombie) member of process group `pgid` exists. Zombies count as gone:
 * orphans are reaped by pid 1, which here takes seconds, and they hold nothing (ports, files) any more.
 */
export function groupAlive(pgid) {
  try {
    process.kill(-pgid, 0);
  } catch (err) {
    return /** @type {NodeJS.ErrnoException} */ (err).code === "EPERM";
  }
  if (!fs.existsSync("/proc/self/stat")) return true;
  return fs.readdirSync("/proc").some((entry) => {
    if (!/^\d+$/.test(entry)) return false;
    try {
      // Fields after "(comm)": state ppid pgrp ...; comm itself may contain spaces and parentheses.
      const stat = fs.readFileSync(`/proc/${entry}/stat`, "utf8");
      const [state, , pgrp] = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      return Number(pgrp) === pgid && state !== "Z";
    } catch {
      return false;
    }
  });
}

function signalGroup(pgid, signal) {
  try {
    process.kill(-pgid, signal);
  } catch {
    // ESRCH: the group is already gone.
  }
}

async function waitGone(pgid, timeoutMs) {
  const deadline = Date.now() + timeoutMs;
  while (groupAlive(pgid)) {
    if (Date.now() > deadline) return false;
    await sleep(100);
  }
  return true;
}

function installExitHooks() {
  if (hooked) return;
  hooked = true;
  // 'exit' handlers must be synchronous, so whatever is still running gets SIGKILL rather than a grace period.
  process.on("exit", () => {
    for (const g of live) signalGroup(g.pid, "SIGKILL");
  });
  let exiting = false;
  for (const sig of /** @type {const} */ (["SIGINT", "SIGTERM", "SIGHUP"])) {
    process.on(sig, async () => {
      // `npm run` can deliver the same signal twice (to the group, then again); a repeat must not cut cleanup short.
      if (exiting) return;
      exiting = true;
      await stopAll(3000);
      process.exit(sig === "SIGINT" ? 130 : 143);
    });
  }
}
