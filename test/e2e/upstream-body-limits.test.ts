/**
 * Whole upstream bodies that never finish or are too large, on the routes that read them whole: the call's
 * request_timeout_ms covers the body (SPEC §2: every call, end to end; a non-stream chat call has no deadline
 * of its own per try, so this guards that the call's covers it), and an answer the upstream accepted
 * (2xx) but the gateway cannot read bills its input (SPEC §8.3), for embeddings as for chat. A raw TCP
 * upstream on loopback writes exactly the bytes each test gives it, then holds the socket open.
 */

import { afterEach, describe, expect, test } from "bun:test";
import type { TCPSocketListener } from "bun";
import { MAX_UPSTREAM_BODY_BYTES } from "../../src/providers/http.ts";
import { rows, startGateway, UNLIMITED_TIER, type RequestRecordRow, type TestGateway } from "../harness/gateway.ts";

let gateway: TestGateway | null = null;
let listener: TCPSocketListener<undefined> | null = null;
afterEach(async () => {
  await gateway?.close();
  gateway = null;
  listener?.stop(true);
  listener = null;
});

/** Sockets the raw upstream saw closed (the gateway giving up on an answer closes its connection). */
let upstreamClosed = 0;

/** Answers each whole request (headers and declared body) with `answer`, and nothing after it. */
function rawUpstream(answer: string): number {
  const received = new Map<object, string>();
  upstreamClosed = 0;
  listener = Bun.listen<undefined>({
    hostname: "127.0.0.1",
    port: 0,
    socket: {
      data(socket, data) {
        const text = (received.get(socket) ?? "") + data.toString();
        received.set(socket, text);
        const headEnd = text.indexOf("\r\n\r\n");
        const length = Number(/content-length: *(\d+)/i.exec(text)?.[1] ?? 0);
        if (headEnd !== -1 && text.length >= headEnd + 4 + length) {
          received.set(socket, "");
          socket.write(answer);
        }
      },
      close() {
        upstreamClosed++;
      },
    },
  });
  return listener.port;
}

/** Model `m` on `channels` channels, each its own provider on the same upstream. */
function start(port: number, kind: "openai" | "anthropic", capabilities: string, channels = 1): Promise<TestGateway> {
  const ids = Array.from({ length: channels }, (_, index) => `up${index}`);
  return startGateway({
    listen: true,
    configToml: `${UNLIMITED_TIER}
[routing]
request_timeout_ms = 400
${ids.map((id) => `
[[providers]]
id = "${id}"
kind = "${kind}"
base_url = "http://127.0.0.1:${port}${kind === "openai" ? "/v1" : ""}"
`).join("")}
[[models]]
id = "m"
context_window = 100000
max_output_tokens = 1000
input_usd_per_mtok = 1
output_usd_per_mtok = 2
capabilities = [${capabilities}]
${ids.map((id) => `  [[models.channels]]\n  provider = "${id}"\n  model = "up"\n`).join("")}`,
  });
}

/** The gateway's answer, or what the client's own 3 s limit made of it. */
function post(path: string, body: unknown, headers: Record<string, string> = {}): Promise<Response | string> {
  const gw = gateway as TestGateway;
  return fetch(`${gw.baseUrl}${path}`, {
    method: "POST",
    headers: { authorization: `Bearer ${gw.liveKey}`, "content-type": "application/json", ...headers },
    body: JSON.stringify(body),
    signal: AbortSignal.timeout(3_000),
  }).catch((error: unknown) => String(error));
}

const statusOf = (answer: Response | string) => (answer instanceof Response ? answer.status : answer);

/** The call ended at the gateway's request_timeout_ms: a 504 well before the client's own limit, recorded, its accepted input billed. */
async function expectCutAtRequestTimeout(answer: Response | string, startedAt: number): Promise<void> {
  expect(statusOf(answer)).toBe(504);
  expect(performance.now() - startedAt).toBeLessThan(2_000);
  const [record] = await rows<RequestRecordRow>(gateway as TestGateway, "SELECT * FROM requests");
  expect(record).toMatchObject({ status: "error", http_status: 504, error_code: "upstream_timeout" });
  expect(record?.cost_microcents).toBeGreaterThan(0);
}

describe("an upstream body that stalls after its headers", () => {
  const partial = '{"id":"x","object":"chat.completion","choices":[{"index":0,"message":{"role":"assistant","content":"hel';
  const heads = {
    chunked: `HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ntransfer-encoding: chunked\r\n\r\n${partial.length.toString(16)}\r\n${partial}\r\n`,
    declared: `HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: ${partial.length + 500}\r\n\r\n${partial}`,
  };
  for (const [mode, answer] of Object.entries(heads)) {
    for (const [path, dialect] of [
      ["/v1/chat/completions", "passthrough"],
      ["/v1/messages", "translated"],
    ] as const) {
      test(`chat, ${mode} body, ${dialect}: request_timeout_ms ends it with 504 (the call's own deadline), input billed, upstream closed`, async () => {
        gateway = await start(rawUpstream(answer), "openai", "");
        const started = performance.now();
        const response = await post(path, { model: "m", max_tokens: 50, messages: [{ role: "user", content: "hello there" }] }, { "anthropic-version": "2023-06-01" });
        await expectCutAtRequestTimeout(response, started);
        for (let attempt = 0; attempt < 50 && upstreamClosed === 0; attempt++) await Bun.sleep(20);
        expect(upstreamClosed).toBeGreaterThan(0);
      });
    }
  }

  test("embeddings: request_timeout_ms ends the call with 504, the input it accepted billed", async () => {
    const partial = '{"object":"list","data":[{"object":"embedding","index":0,"embedding":[0.1,';
    gateway = await start(rawUpstream(`HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: ${partial.length + 100}\r\n\r\n${partial}`), "openai", '"embeddings"');
    const started = performance.now();
    await expectCutAtRequestTimeout(await post("/v1/embeddings", { model: "m", input: "hello" }), started);
  });

  test("count_tokens: request_timeout_ms cuts the upstream's count and the gateway's tokenizer answers", async () => {
    const partial = '{"input_tokens":';
    gateway = await start(rawUpstream(`HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: ${partial.length + 10}\r\n\r\n${partial}`), "anthropic", "");
    const started = performance.now();
    const answer = await post("/v1/messages/count_tokens", { model: "m", messages: [{ role: "user", content: "hello there" }] }, { "anthropic-version": "2023-06-01" });
    expect(statusOf(answer)).toBe(200);
    expect(performance.now() - started).toBeLessThan(2_000);
    expect(((await (answer as Response).json()) as { input_tokens: number }).input_tokens).toBeGreaterThan(0);
  });
});

describe("a 2xx answer over the body limit", () => {
  test("is a 502 that bills the accepted input, for embeddings as for chat (SPEC §8.3), and is not sent to another channel", async () => {
    gateway = await start(rawUpstream(`HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: ${MAX_UPSTREAM_BODY_BYTES + 1}\r\n\r\n{`), "openai", '"embeddings"', 2);
    expect(statusOf(await post("/v1/chat/completions", { model: "m", messages: [{ role: "user", content: "hello there" }] }))).toBe(502);
    const embeddings = await post("/v1/embeddings", { model: "m", input: "hello there" });
    expect(statusOf(embeddings)).toBe(502);
    expect(((await (embeddings as Response).json()) as { error: { message: string } }).error.message).toContain("larger than");
    const records = await rows<RequestRecordRow>(gateway, "SELECT * FROM requests ORDER BY created_at, rowid");
    expect(records.map((record) => ({ status: record.http_status, billed: record.cost_microcents > 0, attempts: JSON.parse(record.attempts).length }))).toEqual([
      { status: 502, billed: true, attempts: 1 },
      { status: 502, billed: true, attempts: 1 },
    ]);
  });
});
