/**
 * The floor: the least a proxy built on Bun can do, run as its own process for bench/compare.ts and
 * bench/stream-memory.ts:
 * `bun bench/lib/floor-proxy.ts --upstream http://127.0.0.1:PORT [--relay]`. Bare `Bun.serve` on 127.0.0.1:0 and
 * a `fetch` passthrough of method, path, headers and body to the upstream, the upstream's status,
 * headers and body streamed back untouched. No auth, no parsing, no accounting: nothing built on Bun
 * that forwards a call can do less. Prints its port as the first stdout line; serves until SIGTERM.
 * The request body is read whole before it is forwarded (as every gateway must, to route on it): in
 * interleaved runs that was faster than streaming it on (`body: request.body` makes Bun's fetch send it
 * chunked), and returning the upstream's Response as it is beat re-wrapping it.
 */

import { parseArgs } from "node:util";

export function startFloorProxy(upstream: string): ReturnType<typeof Bun.serve> {
  const base = upstream.replace(/\/+$/, "");
  return Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    idleTimeout: 60,
    async fetch(request) {
      const url = request.url;
      // The path and query start after "http://host:port".
      const pathStart = url.indexOf("/", url.indexOf("//") + 2);
      const body = request.method === "GET" || request.method === "HEAD" ? undefined : await request.arrayBuffer();
      return fetch(base + (pathStart === -1 ? "/" : url.slice(pathStart)), {
        method: request.method,
        headers: request.headers,
        body,
        decompress: false,
      });
    },
  });
}

/**
 * The floor with the answer read in JavaScript (`--relay`): the upstream body pulled chunk by chunk and
 * re-streamed through a ReadableStream, as any gateway that looks at a stream must; nothing else. What
 * Bun itself costs a relay that reads bodies, against which bench/stream-memory.ts sets Tollgate's memory.
 */
export function startJsRelayProxy(upstream: string): ReturnType<typeof Bun.serve> {
  const base = upstream.replace(/\/+$/, "");
  return Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    idleTimeout: 60,
    async fetch(request) {
      const url = request.url;
      const pathStart = url.indexOf("/", url.indexOf("//") + 2);
      const body = request.method === "GET" || request.method === "HEAD" ? undefined : await request.arrayBuffer();
      const answer = await fetch(base + (pathStart === -1 ? "/" : url.slice(pathStart)), { method: request.method, headers: request.headers, body, decompress: false });
      if (answer.body === null) return answer;
      const reader = answer.body.getReader();
      const relayed = new ReadableStream<Uint8Array>({
        async pull(controller) {
          const read = await reader.read();
          if (read.done) controller.close();
          else controller.enqueue(read.value);
        },
        cancel(reason) {
          return reader.cancel(reason);
        },
      });
      return new Response(relayed, { status: answer.status, headers: answer.headers });
    },
  });
}

if (import.meta.main) {
  const { values } = parseArgs({ args: process.argv.slice(2), options: { upstream: { type: "string" }, relay: { type: "boolean", default: false } }, strict: true });
  if (!values.upstream) throw new Error("--upstream URL is required");
  const server = values.relay ? startJsRelayProxy(values.upstream) : startFloorProxy(values.upstream);
  process.stdout.write(`${server.port}\n`);
  const stop = () => {
    void server.stop(true);
    process.exit(0);
  };
  process.once("SIGTERM", stop);
  process.once("SIGINT", stop);
}
