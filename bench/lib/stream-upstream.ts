/**
 * A bench upstream, run as its own process (`bun bench/lib/stream-upstream.ts [--tokens N] [--pace-ms N]`) so its CPU
 * is never counted as the gateway's: 127.0.0.1:0, an OpenAI-shaped `/v1/chat/completions` stream and an
 * Anthropic-shaped `/v1/messages` stream of N one-word content deltas, pre-serialised once and sent as
 * fast as the socket takes them (one SSE event per chunk), or `--pace-ms` apart. `--obfuscation` pads
 * every OpenAI chunk as api.openai.com does by default: a last member `"obfuscation"` of 1 to 16 random
 * letters and digits. Prints its port on stdout, then serves until killed.
 */

import { parseArgs } from "node:util";

/** The text of delta `index`: one short word and a space, cycling through a small vocabulary. */
const WORDS = ["the", "quick", "brown", "fox", "jumps", "over", "a", "lazy", "dog", "and", "runs", "far"] as const;
export function benchWord(index: number): string {
  return `${WORDS[index % WORDS.length]} `;
}

/** The answer's full text: what a client concatenates from the deltas of a `tokens`-delta stream. */
export function benchAnswer(tokens: number): string {
  let text = "";
  for (let index = 0; index < tokens; index++) text += benchWord(index);
  return text;
}

const encoder = new TextEncoder();
const CREATED = 1_700_000_000;
const INPUT_TOKENS = 12;

function sse(data: unknown, event?: string): Uint8Array {
  const json = typeof data === "string" ? data : JSON.stringify(data);
  return encoder.encode(event === undefined ? `data: ${json}\n\n` : `event: ${event}\ndata: ${json}\n\n`);
}

const PADDING_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

/** OpenAI's padding member, different in every chunk (from a fixed seed: every run sends the same bytes). */
function padder(): (chunk: Record<string, unknown>) => Record<string, unknown> {
  let state = 0x2545f491;
  const next = () => {
    state = (Math.imul(state, 1_103_515_245) + 12_345) >>> 0;
    return state >>> 8;
  };
  return (chunk) => {
    let padding = "";
    for (let length = 1 + (next() % 16); length > 0; length--) padding += PADDING_ALPHABET[next() % PADDING_ALPHABET.length];
    return { ...chunk, obfuscation: padding };
  };
}

/** A chat.completion.chunk stream; the usage chunk only when the caller asked for it (stream_options). */
function openAIStream(tokens: number, includeUsage: boolean, obfuscation: boolean): Uint8Array[] {
  const pad = obfuscation ? padder() : (chunk: Record<string, unknown>) => chunk;
  const chunk = (delta: unknown, finishReason: string | null = null) =>
    sse(pad({ id: "chatcmpl-bench", object: "chat.completion.chunk", created: CREATED, model: "bench-upstream", system_fingerprint: null, choices: [{ index: 0, delta, logprobs: null, finish_reason: finishReason }] }));
  const events = [chunk({ role: "assistant", content: "", refusal: null })];
  for (let index = 0; index < tokens; index++) events.push(chunk({ content: benchWord(index) }));
  events.push(chunk({}, "stop"));
  if (includeUsage) {
    const usage = { prompt_tokens: INPUT_TOKENS, completion_tokens: tokens, total_tokens: INPUT_TOKENS + tokens, prompt_tokens_details: { cached_tokens: 0 } };
    events.push(sse(pad({ id: "chatcmpl-bench", object: "chat.completion.chunk", created: CREATED, model: "bench-upstream", system_fingerprint: null, choices: [], usage })));
  }
  events.push(sse("[DONE]"));
  return events;
}

/** A Messages stream: message_start … one text block … message_delta (usage) → message_stop. */
function anthropicStream(tokens: number): Uint8Array[] {
  const usage = { input_tokens: INPUT_TOKENS, output_tokens: 1, cache_read_input_tokens: 0, cache_creation_input_tokens: 0 };
  const message = { id: "msg_bench", type: "message", role: "assistant", model: "bench-upstream", content: [], stop_reason: null, stop_sequence: null, usage };
  const events = [
    sse({ type: "message_start", message }, "message_start"),
    sse({ type: "content_block_start", index: 0, content_block: { type: "text", text: "" } }, "content_block_start"),
    sse({ type: "ping" }, "ping"),
  ];
  for (let index = 0; index < tokens; index++) {
    events.push(sse({ type: "content_block_delta", index: 0, delta: { type: "text_delta", text: benchWord(index) } }, "content_block_delta"));
  }
  events.push(sse({ type: "content_block_stop", index: 0 }, "content_block_stop"));
  events.push(sse({ type: "message_delta", delta: { stop_reason: "end_turn", stop_sequence: null }, usage: { output_tokens: tokens } }, "message_delta"));
  events.push(sse({ type: "message_stop" }, "message_stop"));
  return events;
}

/** One event per chunk; `paceMs` > 0 waits that long before each event after the first (a model's pace). */
function streamResponse(events: readonly Uint8Array[], paceMs: number): Response {
  let next = 0;
  const body = new ReadableStream<Uint8Array>({
    async pull(controller) {
      if (paceMs > 0 && next > 0) await Bun.sleep(paceMs);
      const event = events[next++];
      if (event === undefined) controller.close();
      else controller.enqueue(event);
    },
  });
  return new Response(body, { headers: { "content-type": "text/event-stream", "cache-control": "no-cache" } });
}

function wantsUsage(body: unknown): boolean {
  if (typeof body !== "object" || body === null || !("stream_options" in body)) return false;
  const options = body.stream_options;
  return typeof options === "object" && options !== null && "include_usage" in options && options.include_usage === true;
}

export function startStreamUpstream(tokens: number, paceMs = 0, obfuscation = false): ReturnType<typeof Bun.serve> {
  const streams = { openai: openAIStream(tokens, false, obfuscation), openaiUsage: openAIStream(tokens, true, obfuscation), anthropic: anthropicStream(tokens) };
  return Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    idleTimeout: 60,
    async fetch(request) {
      const path = new URL(request.url).pathname;
      const body: unknown = await request.json().catch(() => null);
      if (request.method !== "POST" || typeof body !== "object" || body === null || !("stream" in body) || body.stream !== true) {
        return Response.json({ error: { message: "the bench upstream serves streamed POSTs only" } }, { status: 400 });
      }
      if (path === "/v1/chat/completions") return streamResponse(wantsUsage(body) ? streams.openaiUsage : streams.openai, paceMs);
      if (path === "/v1/messages") return streamResponse(streams.anthropic, paceMs);
      return Response.json({ error: { message: `no route ${path}` } }, { status: 404 });
    },
  });
}

if (import.meta.main) {
  const { values } = parseArgs({
    args: process.argv.slice(2),
    options: { tokens: { type: "string", default: "1000" }, "pace-ms": { type: "string", default: "0" }, obfuscation: { type: "boolean", default: false } },
    strict: true,
  });
  const tokens = Number(values.tokens);
  if (!Number.isInteger(tokens) || tokens < 1) throw new Error(`--tokens expects a positive integer, got '${values.tokens}'`);
  const paceMs = Number(values["pace-ms"]);
  if (!Number.isFinite(paceMs) || paceMs < 0) throw new Error(`--pace-ms expects a number ≥ 0, got '${values["pace-ms"]}'`);
  const server = startStreamUpstream(tokens, paceMs, values.obfuscation);
  console.log(server.port);
  const stop = () => {
    void server.stop(true);
    process.exit(0);
  };
  process.once("SIGTERM", stop);
  process.once("SIGINT", stop);
}
