/**
 * Recorded upstream streams (test/fixtures/<provider>/*.sse) through the real SSE decoder and each
 * provider's event decoder: split at random byte boundaries, they must give exactly the events they
 * give whole, and every fixture must end in a finish or an error (never silently).
 */

import { describe, expect, test } from "bun:test";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import fc from "fast-check";
import type { ChatEvent } from "../canonical/events.ts";
import { anthropicEventDecoder } from "./anthropic/decode-events.ts";
import { openAIEventDecoder } from "./openai/decode-events.ts";
import { upstreamEventReader, type UpstreamEventDecoder } from "./sse-events.ts";
import { asTextDeltas } from "../../test/harness/events.ts";

const FIXTURES = join(import.meta.dir, "../../test/fixtures");
const DECODERS: Record<string, () => UpstreamEventDecoder> = { openai: openAIEventDecoder, anthropic: () => anthropicEventDecoder({ learns: true }) };

/** The events as the reader gives them, text runs included. */
async function decodeRaw(chunks: Uint8Array[], decoder: UpstreamEventDecoder): Promise<ChatEvent[]> {
  const body = new ReadableStream<Uint8Array>({
    start(controller) {
      for (const chunk of chunks) controller.enqueue(chunk);
      controller.close();
    },
  });
  const events: ChatEvent[] = [];
  const reader = upstreamEventReader(body, decoder);
  for (;;) {
    const next = await reader.read();
    if (next.done) return events;
    events.push(...next.value);
  }
}

/** The events in comparable form (a run as its text deltas). */
async function decodeChunks(chunks: Uint8Array[], decoder: UpstreamEventDecoder): Promise<ChatEvent[]> {
  return asTextDeltas(await decodeRaw(chunks, decoder));
}

function splitAt(bytes: Uint8Array, cuts: number[]): Uint8Array[] {
  const chunks: Uint8Array[] = [];
  let previous = 0;
  for (const cut of [...new Set(cuts)].sort((a, b) => a - b)) {
    chunks.push(bytes.slice(previous, cut));
    previous = cut;
  }
  chunks.push(bytes.slice(previous));
  return chunks;
}

for (const provider of Object.keys(DECODERS)) {
  const files = readdirSync(join(FIXTURES, provider)).filter((file) => file.endsWith(".sse"));
  describe(`${provider} fixtures split at random byte boundaries`, () => {
    test.each(files)("%s", async (file) => {
      const bytes = new Uint8Array(readFileSync(join(FIXTURES, provider, file)));
      const makeDecoder = DECODERS[provider] as () => UpstreamEventDecoder;
      const whole = await decodeChunks([bytes], makeDecoder());
      const last = whole.at(-1);
      expect(last?.type === "finish" || last?.type === "error").toBe(true);
      expect(await decodeChunks(splitAt(bytes, Array.from({ length: bytes.length - 1 }, (_, index) => index + 1)), makeDecoder())).toEqual(whole);
      await fc.assert(
        fc.asyncProperty(fc.array(fc.integer({ min: 1, max: Math.max(1, bytes.length - 1) }), { maxLength: 24 }), async (cuts) => {
          expect(await decodeChunks(splitAt(bytes, cuts), makeDecoder())).toEqual(whole);
        }),
        { numRuns: 60 },
      );
    });
  });
}

describe("an OpenAI stream read in two parts", () => {
  test("after the chunk that teaches the slot, the content chunks of the next read come as one text run, with the same texts", async () => {
    const bytes = new Uint8Array(readFileSync(join(FIXTURES, "openai", "text-with-usage.sse")));
    const text = new TextDecoder().decode(bytes);
    // The first read: the role chunk and the first content chunk (the slot is learned from it).
    const cut = new TextEncoder().encode(text.split("\n\n").slice(0, 2).join("\n\n") + "\n\n").length;
    const raw = await decodeRaw([bytes.slice(0, cut), bytes.slice(cut)], openAIEventDecoder());
    const runs = raw.flatMap((event) => (event.type === "text-run" ? [event.run] : []));
    expect(runs).toHaveLength(1);
    const contentChunks = [...text.matchAll(/"delta":\{"content":("(?:[^"\\]|\\.)*")\}/g)].map((match) => JSON.parse(match[1] ?? "") as string);
    expect(runs[0]?.texts()).toEqual(contentChunks.slice(1).filter((content) => content !== ""));
    expect(asTextDeltas(raw)).toEqual(await decodeChunks([bytes], openAIEventDecoder()));
  });

  test("read whole, the chunks after the one that teaches the slot come as one text run of the same read", async () => {
    const bytes = new Uint8Array(readFileSync(join(FIXTURES, "openai", "text-with-usage.sse")));
    const text = new TextDecoder().decode(bytes);
    const raw = await decodeRaw([bytes], openAIEventDecoder());
    const runs = raw.flatMap((event) => (event.type === "text-run" ? [event.run] : []));
    const contentChunks = [...text.matchAll(/"delta":\{"content":("(?:[^"\\]|\\.)*")\}/g)].map((match) => JSON.parse(match[1] ?? "") as string);
    expect(runs).toHaveLength(1);
    expect(runs[0]?.texts()).toEqual(contentChunks.slice(1).filter((content) => content !== ""));
  });
});
