// A sample webhook receiver for `npm run dev`: answers 200 to every POST and prints one line per webhook.
import http from "node:http";

/**
 * Listen on 127.0.0.1:`port`; `/fail...` paths answer 500, so retries and endpoint health can be tried by hand.
 * @param {number} port
 * @returns {Promise<http.Server>}
 */
export function startSampleReceiver(port) {
  const server = http.createServer((req, res) => {
    let size = 0;
    req.on("data", (chunk) => (size += chunk.length));
    req.on("end", () => {
      const status = req.url?.startsWith("/fail") ? 500 : 200;
      console.log(`[receiver] ${req.method} ${req.url} ${size} bytes webhook-id=${req.headers["webhook-id"] ?? "-"} → ${status}`);
      res.writeHead(status, { "content-type": "text/plain" }).end(status === 200 ? "received" : "failing on purpose");
    });
  });
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, "127.0.0.1", () => resolve(server));
  });
}
