// Open descriptors, memory and CLOSE-WAIT sockets of the local runtime's processes, read from /proc (Linux).
import fs from "node:fs";

/**
 * @typedef {{name: string, pid: number, fds: number, rssKb: number, closeWait: number}} ProcessStats
 */

/**
 * Every process of the runtime started for `marker` (a path on the wrangler command line, such as the
 * stack's run directory or state directory): wrangler's node process and its descendants (workerd, esbuild).
 * @param {string} marker
 * @returns {ProcessStats[]}
 */
export function runtimeProcesses(marker) {
  const all = listProcesses();
  const roots = all.filter((p) => p.cmdline.includes(marker) && /wrangler|start-worker|serve-worker/.test(p.cmdline));
  const seen = new Set();
  const queue = roots.map((p) => p.pid);
  while (queue.length) {
    const pid = queue.shift();
    if (seen.has(pid)) continue;
    seen.add(pid);
    for (const child of all) if (child.ppid === pid) queue.push(child.pid);
  }
  const closeWaitInodes = socketsInState("08");
  return all
    .filter((p) => seen.has(p.pid) && !/^(sh|sleep)$/.test(p.comm))
    .map((p) => {
      const fds = safeList(`/proc/${p.pid}/fd`);
      let closeWait = 0;
      for (const fd of fds) {
        const link = safeReadlink(`/proc/${p.pid}/fd/${fd}`);
        const inode = /^socket:\[(\d+)\]$/.exec(link)?.[1];
        if (inode && closeWaitInodes.has(inode)) closeWait++;
      }
      return { name: p.comm === "node" ? "node" : p.comm, pid: p.pid, fds: fds.length, rssKb: rssKb(p.pid), closeWait };
    });
}

function listProcesses() {
  return safeList("/proc")
    .filter((e) => /^\d+$/.test(e))
    .map((e) => {
      try {
        const stat = fs.readFileSync(`/proc/${e}/stat`, "utf8");
        const comm = stat.slice(stat.indexOf("(") + 1, stat.lastIndexOf(")"));
        const [, ppid] = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
        const cmdline = fs.readFileSync(`/proc/${e}/cmdline`, "utf8").replaceAll("\0", " ");
        return { pid: Number(e), ppid: Number(ppid), comm, cmdline };
      } catch {
        return null;
      }
    })
    .filter((p) => p !== null);
}

/** Inodes of TCP sockets in a state (hex, as in /proc/net/tcp: 08 is CLOSE_WAIT). */
function socketsInState(state) {
  const inodes = new Set();
  for (const file of ["/proc/net/tcp", "/proc/net/tcp6"]) {
    let text = "";
    try {
      text = fs.readFileSync(file, "utf8");
    } catch {
      continue;
    }
    for (const line of text.split("\n").slice(1)) {
      const cols = line.trim().split(/\s+/);
      if (cols[3] === state) inodes.add(cols[9]);
    }
  }
  return inodes;
}

function rssKb(pid) {
  try {
    return Number(/VmRSS:\s+(\d+)/.exec(fs.readFileSync(`/proc/${pid}/status`, "utf8"))?.[1] ?? 0);
  } catch {
    return 0;
  }
}
function safeList(dir) {
  try {
    return fs.readdirSync(dir);
  } catch {
    return [];
  }
}
function safeReadlink(p) {
  try {
    return fs.readlinkSync(p);
  } catch {
    return "";
  }
}
