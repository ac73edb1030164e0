/**
 * The byte-level lane of an OpenAI stream (src/sse/slotted-events.ts): ns per content chunk read through
 * a learned slot, for chunks as most OpenAI-compatible upstreams write them and as api.openai.com writes
 * them by default (a random `"obfuscation"` member in every chunk, which the slot leaves free), against
 * the SSE decoder and `JSON.parse` of every chunk, the path the same chunks took without a slot (and
 * padded chunks took before the slot could leave the padding free). Then the translation's whole work per
 * chunk, from the upstream's bytes to an Anthropic client's: the lane's text run copied into text_delta
 * events (src/sse/slotted-run.ts), against an event and a string per chunk, encoded as text and then to
 * bytes (the path before runs). One process, in turns.
 * `--write` rewrites the "Stream lane" section of docs/benchmarks.md.
 * Usage: bun bench/lane.ts [--write] [--events N]
 */

import { parseArgs } from "node:util";
import { JsonStringSlot } from "../src/lib/json-string-slot.ts";
import { OPENAI_CHUNK_CONTENT, OPENAI_CHUNK_OBFUSCATION } from "../src/providers/openai/decode-events.ts";
import { SseDecoder, type SseEvent } from "../src/sse/decode.ts";
import { readSlottedEvents, type SlottedSseEvent } from "../src/sse/slotted-events.ts";
import { splicedBytes } from "../src/sse/encode.ts";
import { readSlottedRun, type SlottedRun } from "../src/sse/slotted-run.ts";
import { createAnthropicStreamEncoder } from "../src/dialects/anthropic/encode-stream.ts";
import { estimateTextTokens } from "../src/canonical/token-estimate.ts";
import { emptyUsage } from "../src/canonical/usage.ts";
import type { StreamEncoder } from "../src/gateway/summary.ts";
import { publishBenchSection } from "./lib/benchmarks-doc.ts";
import { integerFlag } from "./lib/flags.ts";
import { describeMachine, machineLine } from "./lib/machine.ts";
import { fixed, summarize } from "./lib/stats.ts";
import { benchWord } from "./lib/stream-upstream.ts";

const SECTION = "Stream lane";
const COMMAND = "bun bench/lane.ts --write";
const { values: flags } = parseArgs({
  args: process.argv.slice(2),
  options: { write: { type: "boolean", default: false }, events: { type: "string", default: "1000" } },
  strict: true,
});
const EVENTS = integerFlag("events", flags.events, 10, 100_000);
const ROUNDS = 15;
/** Reads of the whole body per round: enough work for the clock (~20 ms a round). */
const READS = Math.max(1, Math.round(100_000 / EVENTS));

type Chunk = { choices: { delta: { content: string } }[] };

/** A stream's content chunks as SSE bytes, and the slot learned from its first chunk. */
function stream(padded: boolean): { body: Uint8Array; slot: JsonStringSlot } {
  let state = 7;
  const padding = () => {
    let text = "";
    state = (Math.imul(state, 1_103_515_245) + 12_345) >>> 0;
    for (let length = 1 + ((state >>> 8) % 16); length > 0; length--) {
      state = (Math.imul(state, 1_103_515_245) + 12_345) >>> 0;
      text += "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"[(state >>> 8) % 62];
    }
    return text;
  };
  const data = (content: string) =>
    JSON.stringify({
      id: "chatcmpl-bench",
      object: "chat.completion.chunk",
      created: 1_700_000_000,
      model: "bench-upstream",
      system_fingerprint: null,
      choices: [{ index: 0, delta: { content }, logprobs: null, finish_reason: null }],
      ...(padded ? { obfuscation: padding() } : {}),
    });
  const first = data(benchWord(0));
  const slot = JsonStringSlot.learn(first, JSON.parse(first), benchWord(0), OPENAI_CHUNK_CONTENT, OPENAI_CHUNK_OBFUSCATION);
  if (!slot || (padded && slot.tail === null)) throw new Error("the slot was not learned");
  const text = Array.from({ length: EVENTS }, (_, index) => `data: ${data(benchWord(index))}\n\n`).join("");
  return { body: new TextEncoder().encode(text), slot };
}

/** ns per event of one way of reading the body, checked to read every event. */
type Reader = (body: Uint8Array, slot: JsonStringSlot) => number;
const lane: Reader = (body, slot) => {
  const out: SseEvent[] = [];
  if (readSlottedEvents(body, slot, out) !== body.length) throw new Error("the lane stopped early");
  return out.length;
};
const parsed: Reader = (body) => {
  const decoder = new SseDecoder();
  let texts = 0;
  for (const event of decoder.push(body)) if (typeof (JSON.parse(event.data) as Chunk).choices[0]?.delta.content === "string") texts++;
  return texts;
};

/** An Anthropic encoder with its message and text block started, as a translated stream's is by its first read. */
function anthropicEncoder(): StreamEncoder {
  const encoder = createAnthropicStreamEncoder({ model: "m", createdSec: 0, includeUsage: false, usageEvent: false });
  encoder.encode({ type: "start", id: "x", usage: emptyUsage() });
  encoder.encode({ type: "block-start", index: 0, block: { type: "text" } });
  return encoder;
}
const textEncoder = new TextEncoder();
/** Translated to Anthropic's wire, before runs: an event and its string per chunk, the output text encoded once. */
const translatedPerEvent: Reader = (body, slot) => {
  const out: SseEvent[] = [];
  if (readSlottedEvents(body, slot, out) !== body.length) throw new Error("the lane stopped early");
  const encoder = anthropicEncoder();
  let wire = "";
  let tokens = 0;
  for (const item of out) {
    const { text, literal } = item as SlottedSseEvent;
    tokens += estimateTextTokens(text);
    wire += encoder.encode({ type: "block-delta", index: 0, delta: { type: "text", text, literal } });
  }
  if (textEncoder.encode(wire).length === 0 || tokens === 0) throw new Error("nothing encoded");
  return out.length;
};
/** Translated through a text run: literals located and checked, then copied into the events' bytes (over the read's own: it spends the body). */
const translatedByRun: Reader = (body, slot) => {
  const out: (SseEvent | SlottedRun)[] = [];
  if (readSlottedRun(body, slot, out) !== body.length || out.length !== 1) throw new Error("the lane stopped early");
  const run = out[0] as SlottedRun;
  const wire = anthropicEncoder().encodeTextRun({ type: "text-run", index: 0, run });
  if (wire.length === 0 || run.tokens === 0) throw new Error("nothing encoded");
  return run.count;
};

/** The relay's rewritten envelope head: the client's model id (2 bytes shorter) in place of the upstream's. */
function clientHead(slot: JsonStringSlot): Uint8Array {
  const head = `data: ${slot.prefix}`;
  if (!head.includes('"bench-upstream"')) throw new Error("the slot's prefix has no model id");
  return textEncoder.encode(head.replace('"bench-upstream"', '"bench-client"'));
}
const NO_TAIL = new Uint8Array(0);
/** A passthrough's run before: each chunk after its head copied into a new buffer behind the rewritten head. */
const passthroughCopied: Reader = (body, slot) => {
  const out: (SseEvent | SlottedRun)[] = [];
  if (readSlottedRun(body, slot, out) !== body.length || out.length !== 1) throw new Error("the lane stopped early");
  const run = out[0] as SlottedRun;
  const { spans, spanBytes } = run.fromLiterals();
  if (splicedBytes(clientHead(slot), NO_TAIL, run.bytes, spans, run.eventCount, spanBytes).length === 0) throw new Error("nothing forwarded");
  return run.eventCount;
};
/** The same written over the read's own bytes (`forwardInPlace`: it spends the body). */
const passthroughInPlace: Reader = (body, slot) => {
  const out: (SseEvent | SlottedRun)[] = [];
  if (readSlottedRun(body, slot, out) !== body.length || out.length !== 1) throw new Error("the lane stopped early");
  const run = out[0] as SlottedRun;
  const forwarded = run.forwardInPlace(clientHead(slot));
  if (forwarded === null || forwarded.length === 0) throw new Error("nothing forwarded");
  return run.eventCount;
};

const rows: { name: string; padded: boolean; reader: Reader }[] = [
  { name: "lane", padded: false, reader: lane },
  { name: "SSE decoder + JSON.parse", padded: false, reader: parsed },
  { name: "lane", padded: true, reader: lane },
  { name: "SSE decoder + JSON.parse", padded: true, reader: parsed },
  { name: "to Anthropic, per event", padded: false, reader: translatedPerEvent },
  { name: "to Anthropic, by run", padded: false, reader: translatedByRun },
  { name: "to Anthropic, per event", padded: true, reader: translatedPerEvent },
  { name: "to Anthropic, by run", padded: true, reader: translatedByRun },
  { name: "passthrough, copied", padded: false, reader: passthroughCopied },
  { name: "passthrough, in place", padded: false, reader: passthroughInPlace },
  { name: "passthrough, copied", padded: true, reader: passthroughCopied },
  { name: "passthrough, in place", padded: true, reader: passthroughInPlace },
];
const bodies = { plain: stream(false), padded: stream(true) };
const samples = rows.map(() => [] as number[]);
for (let round = 0; round <= ROUNDS; round++) {
  for (let index = 0; index < rows.length; index++) {
    const row = rows[index] as (typeof rows)[number];
    const { body, slot } = row.padded ? bodies.padded : bodies.plain;
    // Every read is of a fresh copy of the body, made off the clock (and so in the cache, as a read just
    // taken from a socket is): a run written over its read (translation and passthrough now) spends it.
    let elapsedMs = 0;
    for (let read = 0; read < READS; read++) {
      const copy = body.slice();
      const started = performance.now();
      const events = row.reader(copy, slot);
      elapsedMs += performance.now() - started;
      if (events !== EVENTS) throw new Error(`${row.name} read the wrong number of events`);
    }
    // Round 0 warms the JIT up.
    if (round > 0) samples[index]?.push((elapsedMs * 1e6) / (READS * EVENTS));
  }
}

const median = (index: number) => summarize(samples[index] ?? []).median;
const markdown = [
  `Measured ${machineLine(describeMachine())}. Reproduce: \`${COMMAND}\`.`,
  "",
  `${EVENTS.toLocaleString("en-US")} content chunks of an OpenAI stream (one-word deltas, the bench upstream's envelope) read ${READS} times a round,`,
  `${ROUNDS} rounds after a warm-up, every way in turn; ns per chunk, median of the rounds. "Padded": every chunk ends with`,
  'a random `"obfuscation"` of 1 to 16 letters and digits, as api.openai.com writes them by default; the slot leaves that',
  "member free (src/lib/json-string-slot.ts), so padded chunks take the lane too instead of the SSE decoder and `JSON.parse`.",
  "",
  "| chunks | lane, ns/chunk | SSE decoder + `JSON.parse`, ns/chunk | lane ÷ parse |",
  "|---|---:|---:|---:|",
  `| as most OpenAI-compatible upstreams write them | ${fixed(median(0), 0)} | ${fixed(median(1), 0)} | ${fixed(median(0) / median(1), 2)} |`,
  `| padded, as api.openai.com writes them | ${fixed(median(2), 0)} | ${fixed(median(3), 0)} | ${fixed(median(2) / median(3), 2)} |`,
  "",
  "The translation's part of the same chunks, from the upstream's bytes to an Anthropic client's `content_block_delta` bytes",
  "(with the token estimate the gateway bills when an upstream reports no usage): through a text run, each literal located,",
  "checked and copied between pre-encoded event heads and tails, over the read's own bytes where they fit, against the path",
  "before runs (an event and a string per chunk, each event's text joined and encoded to bytes once). Every read, in every",
  "table, is of a fresh copy of the body made off the clock, since a run written over its read spends it.",
  "",
  "| chunks | by run, ns/chunk | per event, ns/chunk | run ÷ per event |",
  "|---|---:|---:|---:|",
  `| as most OpenAI-compatible upstreams write them | ${fixed(median(5), 0)} | ${fixed(median(4), 0)} | ${fixed(median(5) / median(4), 2)} |`,
  `| padded, as api.openai.com writes them | ${fixed(median(7), 0)} | ${fixed(median(6), 0)} | ${fixed(median(7) / median(6), 2)} |`,
  "",
  "A passthrough's part of the same chunks, each forwarded as the upstream wrote it behind its envelope's head with the model id",
  "rewritten (the client's 2 bytes shorter than the upstream's here): written over the read's own bytes (src/sse/slotted-run.ts,",
  "`forwardInPlace`), against copied into a new buffer (the path before).",
  "",
  "| chunks | in place, ns/chunk | copied, ns/chunk | in place ÷ copied |",
  "|---|---:|---:|---:|",
  `| as most OpenAI-compatible upstreams write them | ${fixed(median(9), 0)} | ${fixed(median(8), 0)} | ${fixed(median(9) / median(8), 2)} |`,
  `| padded, as api.openai.com writes them | ${fixed(median(11), 0)} | ${fixed(median(10), 0)} | ${fixed(median(11) / median(10), 2)} |`,
  "",
].join("\n");
publishBenchSection(SECTION, markdown, COMMAND, flags.write);
