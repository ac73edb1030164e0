/**
 * The passthrough relay forwards chunks read through a slot from the slot's rewritten envelope: the
 * client must get exactly the bytes it gets when every chunk is parsed and rewritten on its own.
 */

import { describe, expect, test } from "bun:test";
import fc from "fast-check";
import type { ChatEvent } from "../canonical/events.ts";
import { createOpenAIStreamEncoder } from "../dialects/openai/encode-stream.ts";
import { openAIPassthrough } from "../dialects/openai/passthrough.ts";
import { anthropicEventDecoder } from "../providers/anthropic/decode-events.ts";
import { OpenAIEventDecoder } from "../providers/openai/decode-events.ts";
import { createOpenAIUpstreamStreamDecoder } from "../providers/openai/decode-stream.ts";
import { parseSseData, type UpstreamEventDecoder } from "../providers/sse-events.ts";
import type { SseEvent } from "../sse/decode.ts";
import { passthroughStream, tappedEventReader } from "./passthrough-relay.ts";
import type { GatewayServices } from "./services.ts";
import type { CallSettlement, SettleOutcome } from "./settle.ts";
import { summaryOf } from "./summary.ts";

/** The tap that parses every chunk: what the relay's output is compared with. */
function parsingTap(): UpstreamEventDecoder {
  const decoder = createOpenAIUpstreamStreamDecoder();
  let ended = false;
  const tap = {
    lastData: undefined as unknown,
    lastSlot: null,
    push(event: SseEvent, out: ChatEvent[]) {
      const data = parseSseData(event.data);
      tap.lastData = data;
      if (data === "[DONE]") {
        if (!ended) out.push(...decoder.end());
        ended = true;
      } else if (!ended) {
        out.push(...decoder.push(data));
      }
    },
    end(out: ChatEvent[]) {
      if (!ended) out.push(...decoder.end());
      ended = true;
    },
  };
  return tap;
}

async function relay(wire: string, tap: UpstreamEventDecoder, model: string, includeUsage: boolean, cuts: number[] = []) {
  const bytes = new TextEncoder().encode(wire);
  const points = [...new Set([0, ...cuts.filter((cut) => cut > 0 && cut < bytes.length), bytes.length])].sort((a, b) => a - b);
  const reads: Uint8Array[] = [];
  for (let index = 1; index < points.length; index++) reads.push(bytes.slice(points[index - 1], points[index]));
  const body = new ReadableStream<Uint8Array>({
    start(controller) {
      for (const read of reads) controller.enqueue(read);
      controller.close();
    },
  });
  const settled: SettleOutcome[] = [];
  const services = { keepaliveMs: 60_000, log: { warn() {}, info() {}, error() {}, debug() {} } } as unknown as GatewayServices;
  const settlement = {
    finish(outcome: SettleOutcome) {
      settled.push(outcome);
      return summaryOf("req_1", "billed", 7, outcome.usage);
    },
  } as unknown as CallSettlement;
  const meta = { model, createdSec: 1, includeUsage, usageEvent: false };
  const stream = passthroughStream(
    services,
    { events: tappedEventReader(body, tap), wire: openAIPassthrough, encoder: createOpenAIStreamEncoder(meta), meta },
    settlement,
    { startedAtPerf: performance.now(), abort: new AbortController(), inputTokens: 3 },
  );
  // Decoded only at the end: a chunk changed after it was handed over (a view of a read written over later) would show.
  const received: Uint8Array[] = [];
  const reader = stream.getReader();
  for (let next = await reader.read(); !next.done; next = await reader.read()) received.push(next.value);
  const decoder = new TextDecoder();
  const chunks = received.map((chunk) => decoder.decode(chunk));
  // Whether some chunk went out as a view of an upstream read (a run rewritten in place).
  const inPlace = received.some((chunk) => reads.some((read) => read.buffer === chunk.buffer));
  return { text: chunks.join(""), chunks, settled, inPlace };
}

/** What was settled, without the time to first token (a clock reading). */
const outcomes = (settled: SettleOutcome[]) => settled.map(({ ttftMs: _ttft, ...rest }) => rest);

const data = (json: string) => `data: ${json}\n\n`;
const chunkJson = (content: string, model = "gpt-upstream", order: "model-first" | "model-last" = "model-first") =>
  order === "model-first"
    ? `{"id":"c","object":"chat.completion.chunk","created":1,"model":"${model}","choices":[{"index":0,"delta":{"content":${JSON.stringify(content)}},"finish_reason":null}]}`
    : `{"id":"c","object":"chat.completion.chunk","created":1,"choices":[{"index":0,"delta":{"content":${JSON.stringify(content)}},"finish_reason":null}],"model":"${model}"}`;
const tail = (model = "gpt-upstream") =>
  data(`{"id":"c","object":"chat.completion.chunk","created":1,"model":"${model}","choices":[{"index":0,"delta":{},"finish_reason":"stop"}]}`) +
  data(`{"id":"c","object":"chat.completion.chunk","created":1,"model":"${model}","choices":[],"usage":{"prompt_tokens":3,"completion_tokens":4,"total_tokens":7}}`) +
  data("[DONE]");

function stream(texts: string[], chunkFor: (text: string) => string, model?: string): string {
  return texts.map((text) => data(chunkFor(text))).join("") + tail(model);
}

const TEXTS = ["Hello", " there", ", ", 'a "quoted" word', "line\nbreak", "café", "", "end."];

describe("passthroughStream: chunks read through a slot", () => {
  test.each([
    ["the model rewritten in the envelope's head", stream(TEXTS, (text) => chunkJson(text)), "client-model", true],
    ["the model rewritten in the envelope's tail", stream(TEXTS, (text) => chunkJson(text, "gpt-upstream", "model-last")), "client-model", false],
    ["the upstream already names the client's model", stream(TEXTS, (text) => chunkJson(text, "same-model"), "same-model"), "same-model", true],
    ["a client model id shorter than the upstream's (runs rewritten in the read's bytes)", stream(TEXTS, (text) => chunkJson(text)), "m", true],
    ["a client model id longer than the upstream's (runs copied)", stream(TEXTS, (text) => chunkJson(text)), "a-client-model-longer-than-the-upstream-id", false],
    [
      "a chunk of another shape between content chunks (two runs of one read)",
      stream([...TEXTS, "\u0000odd", ...TEXTS], (text) => (text === "\u0000odd" ? chunkJson("odd").replace('"finish_reason":null', '"finish_reason":null,"logprobs":null') : chunkJson(text))),
      "m",
      true,
    ],
    ["the model id twice in one chunk (re-serialised)", stream(TEXTS, (text) => chunkJson(text).replace('"id":"c"', '"id":"c","x":{"model":"gpt-upstream"}')), "client-model", false],
    ["data split over two lines", stream(TEXTS, (text) => chunkJson(text).replace('"choices":', '"choices":\ndata: ')), "client-model", false],
    ["spaces after the colons", stream(TEXTS, (text) => chunkJson(text).replaceAll('":', '": ')), "client-model", true],
  ] as const)("%s: the same bytes as parsing every chunk", async (_name, wire, model, inPlace) => {
    // Whole, and cut after the chunk that teaches the slot: the rest of the chunks then come as one run.
    const afterSecond = wire.split("\n\n").slice(0, 2).join("\n\n").length + 2;
    for (const cuts of [undefined, [afterSecond]]) {
      for (const includeUsage of [false, true]) {
        const fast = await relay(wire, new OpenAIEventDecoder(), model, includeUsage, cuts);
        const parsed = await relay(wire, parsingTap(), model, includeUsage);
        expect(fast.text).toBe(parsed.text);
        expect(outcomes(fast.settled)).toEqual(outcomes(parsed.settled));
        expect(fast.text).toContain("data: [DONE]");
        // Cut so that runs fill the last read: where the rewritten head is no longer than the upstream's, they go out as views of it.
        if (cuts !== undefined) expect(fast.inPlace).toBe(inPlace);
        expect(parsed.inPlace).toBe(false);
      }
    }
  });

  test("padded chunks, the model before or after the padding, forwarded from runs: the bytes and metered output of parsing", async () => {
    const padded = (text: string, index: number, after: boolean) => {
      const json = chunkJson(text, "gpt-upstream", after ? "model-last" : "model-first");
      const pad = `"obfuscation":"${"Zq81LmN0pQx".slice(0, 1 + (index % 11))}"`;
      return after ? json.replace(',"model":', () => `,${pad},"model":`) : json.replace(/}$/, () => `,${pad}}`);
    };
    for (const after of [false, true]) {
      const chunks = [...TEXTS, ...TEXTS].map((text, index) => data(padded(text, index, after))).join("");
      // Cut streams (billed by the gateway's count) and streams whose usage reports no output: the runs' tokens are billed.
      for (const wire of [chunks, chunks + tail().replace('"completion_tokens":4', '"completion_tokens":0')]) {
        const cut = new TextEncoder().encode(wire.split("\n\n").slice(0, 2).join("\n\n")).length + 2;
        const fast = await relay(wire, new OpenAIEventDecoder(), "client-model", true, [cut]);
        const parsed = await relay(wire, parsingTap(), "client-model", true);
        expect(fast.text).toBe(parsed.text);
        expect(outcomes(fast.settled)).toEqual(outcomes(parsed.settled));
        expect(fast.settled[0]?.usage.output).toBeGreaterThan(0);
      }
    }
  });

  test("an upstream's first read holding the whole answer: the first chunk to the client ends with the first content", async () => {
    const wire = stream(TEXTS, (text) => chunkJson(text));
    // Through the slot (whose runs go as chunks of their own) and parsing every chunk (one chunk a pull).
    const texts: string[] = [];
    for (const tap of [new OpenAIEventDecoder(), parsingTap()]) {
      const { chunks, text } = await relay(wire, tap, "client-model", true);
      expect(chunks[0]).toBe(data(chunkJson("Hello", "client-model")));
      texts.push(text);
    }
    expect(texts[0]).toBe(texts[1]);
    expect(texts[0]).toEndWith("data: [DONE]\n\n");
  });

  test("an Anthropic upstream's first read: the first batch ends with the first text delta, not the block's start", async () => {
    const event = (name: string, json: string) => `event: ${name}\ndata: ${json}\n\n`;
    const wire = [
      event("message_start", '{"type":"message_start","message":{"id":"m","type":"message","role":"assistant","model":"claude-up","content":[],"stop_reason":null,"stop_sequence":null,"usage":{"input_tokens":3,"output_tokens":1}}}'),
      event("content_block_start", '{"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}}'),
      event("ping", '{"type":"ping"}'),
      event("content_block_delta", '{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"Hi"}}'),
      event("content_block_delta", '{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":" there"}}'),
      event("content_block_stop", '{"type":"content_block_stop","index":0}'),
    ].join("");
    const body = new ReadableStream<Uint8Array>({
      start(controller) {
        controller.enqueue(new TextEncoder().encode(wire));
        controller.close();
      },
    });
    const reader = tappedEventReader(body, anthropicEventDecoder());
    const names = async () => {
      const next = await reader.read();
      return next.done ? null : next.value.map((item) => item.event.event);
    };
    expect(await names()).toEqual(["message_start", "content_block_start", "ping", "content_block_delta"]);
    expect(await names()).toEqual(["content_block_delta", "content_block_stop"]);
  });

  test("split anywhere, the output is the same", async () => {
    const wire = stream(TEXTS, (text) => chunkJson(text));
    const expected = (await relay(wire, parsingTap(), "client-model", true)).text;
    expect(expected).not.toContain("gpt-upstream");
    await fc.assert(
      fc.asyncProperty(fc.array(fc.integer({ min: 1, max: wire.length - 1 }), { maxLength: 16 }), async (cuts) => {
        expect((await relay(wire, new OpenAIEventDecoder(), "client-model", true, cuts)).text).toBe(expected);
      }),
      { numRuns: 60 },
    );
  });

  test("a stream cut after slotted chunks ends with the error event and a partial charge", async () => {
    const wire = TEXTS.map((text) => data(chunkJson(text))).join("");
    const fast = await relay(wire, new OpenAIEventDecoder(), "client-model", false);
    const parsed = await relay(wire, parsingTap(), "client-model", false);
    expect(fast.text).toBe(parsed.text);
    expect(fast.text).toContain('"error":{');
    expect(fast.settled.map((outcome) => outcome.status)).toEqual(["error"]);
    expect(outcomes(fast.settled)).toEqual(outcomes(parsed.settled));
  });
});
