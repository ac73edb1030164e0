/** fetchUpstream's deadlines and aborts, against a real upstream on loopback. */

import { afterAll, describe, expect, test } from "bun:test";
import { GatewayError } from "../errors.ts";
import { fetchUpstream, readUpstreamText, type UpstreamRequest } from "./http.ts";

/** A loopback upstream: /slow-headers answers after 2 s, /stream sends one chunk then holds the body open, /ok answers at once. */
let received = 0;
const server = Bun.serve({
  hostname: "127.0.0.1",
  port: 0,
  async fetch(request) {
    received++;
    const path = new URL(request.url).pathname;
    if (path === "/slow-headers") {
      await Bun.sleep(2_000);
      return new Response("late");
    }
    if (path === "/stream") {
      return new Response(
        new ReadableStream({
          start(controller) {
            controller.enqueue(new TextEncoder().encode("data: first\n\n"));
          },
        }),
        { headers: { "content-type": "text/event-stream" } },
      );
    }
    if (path === "/declared-2000") return new Response("z".repeat(2000));
    // 8 MiB of spaces, ~8 KB gzipped: the content-length fetch keeps is the compressed one.
    if (path === "/gzip-8mib") return new Response(gzipped8MiB, { headers: { "content-type": "application/json", "content-encoding": "gzip" } });
    if (path === "/gzip-error-8mib") return new Response(gzipped8MiB, { status: 400, headers: { "content-type": "application/json", "content-encoding": "gzip" } });
    if (path === "/chunked-endless") {
      // No length declared, and no end: only the reader's cancel stops it.
      return new Response(
        new ReadableStream({
          pull(controller) {
            controller.enqueue(new Uint8Array(100).fill(120));
          },
          cancel() {
            chunkedCancelled = true;
          },
        }),
      );
    }
    if (path === "/chunked-text") {
      // "é" split across two chunks: the text is decoded whole, not chunk by chunk.
      const bytes = new TextEncoder().encode("café au lait");
      return new Response(
        new ReadableStream({
          start(controller) {
            controller.enqueue(bytes.subarray(0, 4));
            controller.enqueue(bytes.subarray(4));
            controller.close();
          },
        }),
      );
    }
    return new Response("ok");
  },
});
let chunkedCancelled = false;
const gzipped8MiB = Bun.gzipSync(new Uint8Array(8 * 1024 * 1024).fill(32));
afterAll(() => server.stop(true));

function upstream(path: string, signal: AbortSignal, headersTimeoutMs = 5_000): UpstreamRequest {
  return {
    provider: "p",
    url: `http://127.0.0.1:${server.port}${path}`,
    headers: { "content-type": "application/json" },
    body: "{}",
    signal,
    headersTimeoutMs,
    decodeError: (provider, status) => new GatewayError("upstream_error", `${provider} ${status}`),
  };
}

async function rejection(promise: Promise<unknown>): Promise<GatewayError> {
  const error = await promise.then(
    () => null,
    (reason: unknown) => reason,
  );
  if (!(error instanceof GatewayError)) throw new Error(`expected a GatewayError, got ${String(error)}`);
  return error;
}

describe("fetchUpstream", () => {
  test("an upstream silent past the headers deadline is a retryable upstream_timeout, and the call's signal stays live", async () => {
    const call = new AbortController();
    const error = await rejection(fetchUpstream(upstream("/slow-headers", call.signal, 100)));
    expect(error.kind).toBe("upstream_timeout");
    expect(error.retryable).toBe(true);
    expect(call.signal.aborted).toBe(false);
    // The next attempt of the same call still goes out.
    expect(await (await fetchUpstream(upstream("/ok", call.signal))).text()).toBe("ok");
  });

  test("the call aborted while waiting for headers: the call's own reason", async () => {
    const call = new AbortController();
    const pending = fetchUpstream(upstream("/slow-headers", call.signal));
    setTimeout(() => call.abort(new GatewayError("upstream_timeout", "request timeout")), 50);
    const error = await rejection(pending);
    expect(error.kind).toBe("upstream_timeout");
    expect(error.message).toBe("request timeout");
  });

  test("the call aborted after the headers: the body read stops (a client that left cuts the upstream stream)", async () => {
    const call = new AbortController();
    const response = await fetchUpstream(upstream("/stream", call.signal));
    const reader = response.body?.getReader();
    if (!reader) throw new Error("no body");
    expect(new TextDecoder().decode((await reader.read()).value)).toBe("data: first\n\n");
    const next = reader.read();
    call.abort(new GatewayError("client_disconnected", "gone"));
    const outcome = await next.then(
      (read) => (read.done ? "ended" : "more"),
      () => "aborted",
    );
    expect(outcome).toBe("aborted");
  });

  test("a call already aborted fails with its reason and sends nothing", async () => {
    const call = new AbortController();
    call.abort(new GatewayError("client_disconnected", "gone"));
    const before = received;
    expect((await rejection(fetchUpstream(upstream("/ok", call.signal)))).kind).toBe("client_disconnected");
    await Bun.sleep(50);
    expect(received).toBe(before);
  });
});

describe("readUpstreamText: an upstream body read whole, within a limit", () => {
  const get = (path: string) => fetch(`http://127.0.0.1:${server.port}${path}`);

  test("a declared length over the limit is refused before reading: an upstream_error, not retried on another channel", async () => {
    const error = await rejection(readUpstreamText("p", await get("/declared-2000"), 1000));
    expect(error.kind).toBe("upstream_error");
    expect(error.retryable).toBe(false);
    expect(error.message).toContain("larger than 1000 bytes");
  });

  test("a chunked body is counted as it comes and cancelled once over: an endless body does not fill the memory", async () => {
    const error = await rejection(readUpstreamText("p", await get("/chunked-endless"), 1000));
    expect(error.kind).toBe("upstream_error");
    for (let attempt = 0; attempt < 50 && !chunkedCancelled; attempt++) await Bun.sleep(10);
    // The gateway's cancel reaches the upstream: its stream is told to stop.
    expect(chunkedCancelled).toBe(true);
  });

  test("a compressed body is held to the limit by its decompressed size, not by its compressed content-length", async () => {
    const response = await get("/gzip-8mib");
    expect(Number(response.headers.get("content-length"))).toBeLessThan(1024 * 1024);
    expect((await rejection(readUpstreamText("p", response, 1024 * 1024))).kind).toBe("upstream_error");
    expect((await readUpstreamText("p", await get("/gzip-8mib"), 16 * 1024 * 1024)).length).toBe(8 * 1024 * 1024);
  });

  test("an error body past 1 MiB, compressed or not, reaches the error decoder as no text", async () => {
    let seen = "unset";
    const error = await rejection(
      fetchUpstream({
        ...upstream("/gzip-error-8mib", new AbortController().signal),
        decodeError: (provider, status, bodyText) => {
          seen = bodyText;
          return new GatewayError("invalid_request", `${provider} ${status}`);
        },
      }),
    );
    expect(error.message).toBe("p 400");
    expect(seen).toBe("");
  });

  test("bodies within the limit come back exactly, declared or chunked", async () => {
    expect(await readUpstreamText("p", await get("/declared-2000"), 2000)).toBe("z".repeat(2000));
    expect(await readUpstreamText("p", await get("/chunked-text"), 1000)).toBe("café au lait");
  });
});
