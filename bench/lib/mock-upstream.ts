/**
 * A fast mock LLM upstream for bench/compare.ts, run as its own process so its CPU is never counted as a
 * proxy's: `bun bench/lib/mock-upstream.ts [--tokens N]`. It listens on 127.0.0.1:0, prints its port as
 * the first stdout line, and serves until SIGTERM:
 *
 * - `POST /v1/chat/completions` (OpenAI): a `chat.completion`, or with `"stream":true` a chunk stream of N
 *   one-word content deltas, the finish chunk, the usage chunk when `stream_options.include_usage` is
 *   set (as OpenAI does), then `data: [DONE]`;
 * - `POST /v1/messages` (Anthropic): a `message`, or with `"stream":true` message_start … N text deltas …
 *   message_delta (usage) → message_stop;
 * - a path prefix `/latency-<ms>` (e.g. `/latency-50/v1/chat/completions`) holds the answer that long
 *   before its status line: a fixed upstream latency (time to first token, for streams).
 *
 * Every answer is serialised once at start-up. A stream's events up to its first token go out in one
 * write (as a model's first token arrives), the rest in writes of `--events-per-write` events, each
 * flushed before the next, so a proxy's time to first byte is not inflated by the whole answer arriving
 * in its first read. The request body is read but only scanned for `"stream":true` and
 * `"include_usage":true`, never parsed.
 */

import { parseArgs } from "node:util";

const WORDS = ["the", "quick", "brown", "fox", "jumps", "over", "a", "lazy", "dog", "and", "runs", "far"] as const;
export const MOCK_INPUT_TOKENS = 12;
export const MOCK_MODEL = "mock-upstream-model";

/** The text of token `index`: one short word and a space. */
function word(index: number): string {
  return `${WORDS[index % WORDS.length]} `;
}

/** The whole answer of an N-token call: what a client gets by concatenating the deltas. */
export function mockAnswer(tokens: number): string {
  let text = "";
  for (let index = 0; index < tokens; index++) text += word(index);
  return text;
}

const encoder = new TextEncoder();
const CREATED = 1_700_000_000;

function sse(data: unknown, event?: string): string {
  const json = typeof data === "string" ? data : JSON.stringify(data);
  return event === undefined ? `data: ${json}\n\n` : `event: ${event}\ndata: ${json}\n\n`;
}

function openAIUsage(tokens: number) {
  return { prompt_tokens: MOCK_INPUT_TOKENS, completion_tokens: tokens, total_tokens: MOCK_INPUT_TOKENS + tokens, prompt_tokens_details: { cached_tokens: 0 } };
}

function openAIEvents(tokens: number, includeUsage: boolean): string[] {
  const chunk = (delta: unknown, finishReason: string | null = null) =>
    sse({ id: "chatcmpl-mock", object: "chat.completion.chunk", created: CREATED, model: MOCK_MODEL, system_fingerprint: null, choices: [{ index: 0, delta, logprobs: null, finish_reason: finishReason }] });
  const events = [chunk({ role: "assistant", content: "", refusal: null })];
  for (let index = 0; index < tokens; index++) events.push(chunk({ content: word(index) }));
  events.push(chunk({}, "stop"));
  if (includeUsage) {
    events.push(sse({ id: "chatcmpl-mock", object: "chat.completion.chunk", created: CREATED, model: MOCK_MODEL, system_fingerprint: null, choices: [], usage: openAIUsage(tokens) }));
  }
  events.push(sse("[DONE]"));
  return events;
}

function anthropicEvents(tokens: number): string[] {
  const usage = { input_tokens: MOCK_INPUT_TOKENS, output_tokens: 1, cache_read_input_tokens: 0, cache_creation_input_tokens: 0 };
  const message = { id: "msg_mock", type: "message", role: "assistant", model: MOCK_MODEL, content: [], stop_reason: null, stop_sequence: null, usage };
  const events = [
    sse({ type: "message_start", message }, "message_start"),
    sse({ type: "content_block_start", index: 0, content_block: { type: "text", text: "" } }, "content_block_start"),
  ];
  for (let index = 0; index < tokens; index++) {
    events.push(sse({ type: "content_block_delta", index: 0, delta: { type: "text_delta", text: word(index) } }, "content_block_delta"));
  }
  events.push(sse({ type: "content_block_stop", index: 0 }, "content_block_stop"));
  events.push(sse({ type: "message_delta", delta: { stop_reason: "end_turn", stop_sequence: null }, usage: { output_tokens: tokens } }, "message_delta"));
  events.push(sse({ type: "message_stop" }, "message_stop"));
  return events;
}

/**
 * The events up to the first token (`first` of them) in one write, then the others joined `perWrite` at
 * a time, each write encoded once.
 */
function writesOf(events: readonly string[], first: number, perWrite: number): Uint8Array[] {
  const writes = [encoder.encode(events.slice(0, first).join(""))];
  for (let start = first; start < events.length; start += perWrite) writes.push(encoder.encode(events.slice(start, start + perWrite).join("")));
  return writes;
}

export interface MockAnswers {
  openAIJson: Uint8Array;
  anthropicJson: Uint8Array;
  openAIStream: Uint8Array[];
  openAIStreamUsage: Uint8Array[];
  anthropicStream: Uint8Array[];
}

export function mockAnswers(tokens: number, eventsPerWrite: number): MockAnswers {
  const text = mockAnswer(tokens);
  const openAIJson = {
    id: "chatcmpl-mock",
    object: "chat.completion",
    created: CREATED,
    model: MOCK_MODEL,
    system_fingerprint: null,
    choices: [{ index: 0, message: { role: "assistant", content: text, refusal: null }, logprobs: null, finish_reason: "stop" }],
    usage: openAIUsage(tokens),
  };
  const anthropicJson = {
    id: "msg_mock",
    type: "message",
    role: "assistant",
    model: MOCK_MODEL,
    content: [{ type: "text", text }],
    stop_reason: "end_turn",
    stop_sequence: null,
    usage: { input_tokens: MOCK_INPUT_TOKENS, output_tokens: tokens, cache_read_input_tokens: 0, cache_creation_input_tokens: 0 },
  };
  return {
    openAIJson: encoder.encode(JSON.stringify(openAIJson)),
    anthropicJson: encoder.encode(JSON.stringify(anthropicJson)),
    // OpenAI: the role chunk and the first token; Anthropic: message_start, content_block_start, the first token.
    openAIStream: writesOf(openAIEvents(tokens, false), 2, eventsPerWrite),
    openAIStreamUsage: writesOf(openAIEvents(tokens, true), 2, eventsPerWrite),
    anthropicStream: writesOf(anthropicEvents(tokens), 3, eventsPerWrite),
  };
}

const JSON_HEADERS = { "content-type": "application/json" };
const SSE_HEADERS = { "content-type": "text/event-stream", "cache-control": "no-cache" };
const STREAM_TRUE = /"stream"\s*:\s*true/;
const INCLUDE_USAGE_TRUE = /"include_usage"\s*:\s*true/;
const LATENCY_PREFIX = /^\/latency-(\d{1,5})(\/.*)$/;

function streamOf(writes: readonly Uint8Array[]): Response {
  const body = new ReadableStream({
    type: "direct",
    async pull(controller) {
      for (const chunk of writes) {
        controller.write(chunk);
        // Flushed one by one: the first token leaves before the rest.
        await controller.flush(true);
      }
      controller.close();
    },
  });
  return new Response(body, { headers: SSE_HEADERS });
}

export function startMockUpstream(tokens: number, eventsPerWrite: number): ReturnType<typeof Bun.serve> {
  const answers = mockAnswers(tokens, eventsPerWrite);
  return Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    idleTimeout: 60,
    async fetch(request) {
      let path = new URL(request.url).pathname;
      let latencyMs = 0;
      const prefixed = LATENCY_PREFIX.exec(path);
      if (prefixed) {
        latencyMs = Number(prefixed[1]);
        path = prefixed[2] ?? "/";
      }
      if (request.method !== "POST") return Response.json({ error: { message: "the mock upstream serves POSTs only" } }, { status: 405 });
      const body = await request.text();
      const stream = STREAM_TRUE.test(body);
      if (latencyMs > 0) await Bun.sleep(latencyMs);
      if (path === "/v1/chat/completions") {
        if (!stream) return new Response(answers.openAIJson, { headers: JSON_HEADERS });
        return streamOf(INCLUDE_USAGE_TRUE.test(body) ? answers.openAIStreamUsage : answers.openAIStream);
      }
      if (path === "/v1/messages") return stream ? streamOf(answers.anthropicStream) : new Response(answers.anthropicJson, { headers: JSON_HEADERS });
      return Response.json({ error: { message: `no route ${path}` } }, { status: 404 });
    },
  });
}

if (import.meta.main) {
  const { values } = parseArgs({
    args: process.argv.slice(2),
    options: { tokens: { type: "string", default: "256" }, "events-per-write": { type: "string", default: "16" } },
    strict: true,
  });
  const tokens = Number(values.tokens);
  const perWrite = Number(values["events-per-write"]);
  if (!Number.isInteger(tokens) || tokens < 1) throw new Error(`--tokens expects a positive integer, got '${values.tokens}'`);
  if (!Number.isInteger(perWrite) || perWrite < 1) throw new Error(`--events-per-write expects a positive integer, got '${values["events-per-write"]}'`);
  const server = startMockUpstream(tokens, perWrite);
  process.stdout.write(`${server.port}\n`);
  const stop = () => {
    void server.stop(true);
    process.exit(0);
  };
  process.once("SIGTERM", stop);
  process.once("SIGINT", stop);
}
