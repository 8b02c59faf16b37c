// Finds free TCP ports on 127.0.0.1, because fixed ports collide with other checkouts on this shared machine.
import net from "node:net";

/**
 * Ask the kernel for a free port. Another process could grab it before we bind it; callers pass
 * `--strictPort`-style flags so that shows up as a start failure rather than a silent port change.
 * @returns {Promise<number>}
 */
export function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.once("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const { port } = /** @type {net.AddressInfo} */ (srv.address());
      srv.close(() => resolve(port));
    });
  });
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
