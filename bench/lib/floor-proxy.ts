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

/** The upstream's answer to `request`: its method, path and query, headers and whole body, forwarded as they are. */
async function forward(base: string, request: Request): Promise<Response> {
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
}

/** The answer with its body pulled chunk by chunk in JavaScript and re-streamed, each chunk as it came. */
function relayed(answer: Response): Response {
  if (answer.body === null) return answer;
  const reader = answer.body.getReader();
  const body = new ReadableStream<Uint8Array>({
    async pull(controller) {
      const read = await reader.read();
      if (read.done) controller.close();
      else controller.enqueue(read.value);
    },
    cancel(reason) {
      return reader.cancel(reason);
    },
  });
  return new Response(body, { status: answer.status, headers: answer.headers });
}

/**
 * The floor, or with `relay` the floor with the answer read in JavaScript (`--relay`): its body re-streamed
 * through a ReadableStream, as any gateway that looks at a stream must, and nothing else. The relay is what
 * Bun itself costs a proxy that reads bodies, against which bench/stream-memory.ts sets Tollgate's memory.
 */
export function startFloorProxy(upstream: string, options: { relay?: boolean } = {}): ReturnType<typeof Bun.serve> {
  const base = upstream.replace(/\/+$/, "");
  return Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    idleTimeout: 60,
    fetch: options.relay === true ? async (request) => relayed(await forward(base, request)) : (request) => forward(base, request),
  });
}

if (import.meta.main) {
  const { values } = parseArgs({ args: process.argv.slice(2), options: { upstream: { type: "string" }, relay: { type: "boolean", default: false } }, strict: true });
  if (!values.upstream) throw new Error("--upstream URL is required");
  const server = startFloorProxy(values.upstream, { relay: values.relay });
  process.stdout.write(`${server.port}\n`);
  const stop = () => {
    void server.stop(true);
    process.exit(0);
  };
  process.once("SIGTERM", stop);
  process.once("SIGINT", stop);
}
