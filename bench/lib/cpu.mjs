// CPU time used by a worker's process group (wrangler's node + workerd), read from /proc, so cost per event survives a noisy machine.
import fs from "node:fs";

const TICK_MS = 10; // CLK_TCK is 100 on Linux

/**
 * The process group whose command line mentions `marker` (a run directory only that worker uses), or null.
 * @param {string} marker
 */
export function findGroup(marker) {
  for (const entry of safeReaddir("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const cmd = fs.readFileSync(`/proc/${entry}/cmdline`, "utf8");
      if (cmd.includes(marker)) return statOf(entry).pgrp;
    } catch {
      // gone
    }
  }
  return null;
}

/**
 * CPU milliseconds (user + system) used so far by each live process of group `pgid`, summed by command name.
 * @param {number|null} pgid
 * @returns {Record<string, number>}  e.g. `{workerd: 5230, node: 1210}`
 */
export function groupCpu(pgid) {
  /** @type {Record<string, number>} */
  const byName = {};
  if (pgid === null) return byName;
  for (const entry of safeReaddir("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const s = statOf(entry);
      if (s.pgrp !== pgid) continue;
      byName[s.comm] = (byName[s.comm] ?? 0) + s.cpuMs;
    } catch {
      // gone
    }
  }
  return byName;
}

/** Start measuring a group (and this process: receiver + sender); `stop()` returns the CPU ms used since. @param {number|null} pgid */
export function cpuMeter(pgid) {
  const before = groupCpu(pgid);
  const self = process.cpuUsage();
  return () => {
    const after = groupCpu(pgid);
    /** @type {Record<string, number>} */
    const byName = {};
    for (const [name, ms] of Object.entries(after)) byName[name] = ms - (before[name] ?? 0);
    const used = process.cpuUsage(self);
    const total = Object.values(byName).reduce((a, b) => a + b, 0);
    return { totalMs: total, byName, benchProcessMs: Math.round((used.user + used.system) / 1000) };
  };
}

/** @param {string} pid */
function statOf(pid) {
  const stat = fs.readFileSync(`/proc/${pid}/stat`, "utf8");
  const comm = stat.slice(stat.indexOf("(") + 1, stat.lastIndexOf(")"));
  const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return { comm, pgrp: Number(f[2]), cpuMs: (Number(f[11]) + Number(f[12])) * TICK_MS };
}

function safeReaddir(dir) {
  try {
    return fs.readdirSync(dir);
  } catch {
    return [];
  }
}
