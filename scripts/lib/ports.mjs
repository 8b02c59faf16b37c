// Finds free TCP ports on 127.0.0.1, because fixed ports collide with other checkouts on this shared machine.
import net from "node:net";

/**
 * Ask the kernel for `n` distinct free ports. All are held open until every one is bound, so the kernel
 * cannot hand the same port out twice. Another process could still grab one before we use it; callers pass
 * `--strictPort`-style flags so that shows up as a start failure rather than a silent port change.
 * @param {number} [n]
 * @returns {Promise<number[]>}
 */
export async function freePorts(n = 1) {
  const servers = Array.from({ length: n }, () => net.createServer());
  const ports = await Promise.all(
    servers.map(
      (srv) =>
        new Promise((resolve, reject) => {
          srv.once("error", reject);
          srv.listen(0, "127.0.0.1", () => resolve(/** @type {net.AddressInfo} */ (srv.address()).port));
        }),
    ),
  );
  await Promise.all(servers.map((srv) => new Promise((resolve) => srv.close(resolve))));
  return ports;
}

/** @returns {Promise<number>} one free port (see {@link freePorts}) */
export async function freePort() {
  const [port] = await freePorts(1);
  return port;
}

/**
 * @param {number} port
 * @returns {Promise<boolean>} true when nothing listens on 127.0.0.1:port
 */
export function isPortFree(port) {
  return new Promise((resolve) => {
    const srv = net.createServer();
    srv.once("error", () => resolve(false));
    srv.listen(port, "127.0.0.1", () => srv.close(() => resolve(true)));
  });
}
