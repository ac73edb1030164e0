import { describe, expect, test } from "bun:test";
import type { ChatEvent } from "../canonical/events.ts";
import { emptyUsage } from "../canonical/usage.ts";
import { createAnthropicStreamEncoder } from "../dialects/anthropic/encode-stream.ts";
import { createOpenAIStreamEncoder } from "../dialects/openai/encode-stream.ts";
import { estimateTextTokens } from "../canonical/token-estimate.ts";
import { textRunOf } from "../../test/harness/events.ts";
import type { BatchReader } from "../sse/batch-reader.ts";
import { relayStream } from "./relay.ts";
import type { GatewayServices } from "./services.ts";
import type { CallSettlement, SettleOutcome } from "./settle.ts";
import { summaryOf } from "./summary.ts";

const META = { model: "m", createdSec: 1_700_000_000, includeUsage: false, usageEvent: false };
const USAGE = { ...emptyUsage(), input: 3, output: 3 };

function fakes(keepaliveMs = 60_000) {
  const settled: SettleOutcome[] = [];
  const services = { keepaliveMs, log: { warn() {}, info() {}, error() {}, debug() {} } } as unknown as GatewayServices;
  const settlement = {
    finish(outcome: SettleOutcome) {
      settled.push(outcome);
      return summaryOf("req_1", "m", 1, outcome.usage);
    },
  } as unknown as CallSettlement;
  return { services, settlement, settled, options: { startedAtPerf: performance.now(), abort: new AbortController(), inputTokens: 3 } };
}

const words = (count: number): ChatEvent[] => [
  { type: "start", id: "x", usage: emptyUsage() },
  { type: "block-start", index: 0, block: { type: "text" } },
  ...Array.from({ length: count }, (_, index): ChatEvent => ({ type: "block-delta", index: 0, delta: { type: "text", text: `w${index} ` } })),
  { type: "block-stop", index: 0 },
];

async function readAll(body: ReadableStream<Uint8Array>): Promise<string> {
  return new Response(body).text();
}

/** A stream of single-event batches as the relay's upstream. */
function batches(stream: ReadableStream<ChatEvent>): BatchReader<ChatEvent[]> {
  const reader = stream.getReader();
  return {
    read: async () => {
      const next = await reader.read();
      return next.done ? { done: true } : { done: false, value: [next.value] };
    },
    cancel: (reason) => reader.cancel(reason),
  };
}

describe("relayStream", () => {
  test("a burst the upstream already produced goes out whole and in order, then the finish, once settled", async () => {
    const { services, settlement, settled, options } = fakes();
    const events = [...words(50), { type: "finish", stopReason: "end_turn", stopSequence: null, usage: USAGE } as ChatEvent];
    const upstream = new ReadableStream<ChatEvent>({
      start(controller) {
        for (const event of events) controller.enqueue(event);
        controller.close();
      },
    });
    const text = await readAll(relayStream(services, batches(upstream), createOpenAIStreamEncoder(META), settlement, options));
    const contents = [...text.matchAll(/"content":"(w\d+ )"/g)].map((match) => match[1]);
    expect(contents).toEqual(Array.from({ length: 50 }, (_, index) => `w${index} `));
    expect(text.endsWith("data: [DONE]\n\n")).toBe(true);
    expect(settled).toHaveLength(1);
    expect(settled[0]?.status).toBe("ok");
  });

  test("events that trickle in, with silences, still get keepalives; a cut after them ends with an error event", async () => {
    const { services, settlement, settled, options } = fakes(15);
    const upstream = new ReadableStream<ChatEvent>({
      async start(controller) {
        for (const event of words(3)) {
          controller.enqueue(event);
          await Bun.sleep(40);
        }
        controller.close();
      },
    });
    const text = await readAll(relayStream(services, batches(upstream), createOpenAIStreamEncoder(META), settlement, options));
    expect(text).toContain(": keepalive\n\n");
    expect(text).toContain('"content":"w2 "');
    expect(text).toContain('"error":{');
    expect(text).not.toContain("[DONE]");
    expect(settled.map((outcome) => outcome.status)).toEqual(["error"]);
  });
});

describe("relayStream over batches", () => {
  /** The batches, then the end (or, `open`, a read that never completes). */
  const reader = (batches: ChatEvent[][], open = false): BatchReader<ChatEvent[]> & { cancelled: boolean } => {
    let index = 0;
    const source = {
      cancelled: false,
      read: () =>
        index < batches.length
          ? Promise.resolve({ done: false as const, value: batches[index++] as ChatEvent[] })
          : open
            ? new Promise<never>(() => {})
            : Promise.resolve({ done: true as const }),
      cancel: async () => {
        source.cancelled = true;
      },
    };
    return source;
  };

  test("a whole answer in one batch goes out whole, then the summary once settled", async () => {
    const { services, settlement, settled, options } = fakes();
    const finish: ChatEvent = { type: "finish", stopReason: "end_turn", stopSequence: null, usage: USAGE };
    const text = await readAll(relayStream(services, reader([[...words(20), finish]]), createOpenAIStreamEncoder(META), settlement, options));
    expect([...text.matchAll(/"content":"(w\d+ )"/g)]).toHaveLength(20);
    expect(text.endsWith("data: [DONE]\n\n")).toBe(true);
    expect(settled.map((outcome) => outcome.status)).toEqual(["ok"]);
  });

  test("an error event mid-batch ends the stream with the dialect's error after what came before, and bills the partial answer", async () => {
    const { services, settlement, settled, options } = fakes();
    const error: ChatEvent = { type: "error", kind: "upstream_error", message: "The upstream failed mid-stream." };
    const text = await readAll(relayStream(services, reader([words(3), [...words(2).slice(2), error, ...words(2)]]), createOpenAIStreamEncoder(META), settlement, options));
    expect([...text.matchAll(/"content":"(w\d+ )"/g)].map((match) => match[1])).toEqual(["w0 ", "w1 ", "w2 ", "w0 ", "w1 "]);
    expect(text.endsWith('"param":null}}\n\n')).toBe(true);
    expect(settled).toHaveLength(1);
    expect(settled[0]).toMatchObject({ status: "error", httpStatus: 502, errorCode: "upstream_error" });
    expect(settled[0]?.usage.output).toBeGreaterThan(0);
    expect(options.abort.signal.aborted).toBe(true);
  });

  test("the first batch goes out on its own (time to first byte); later pulls take every batch already there", async () => {
    const { services, settlement, options } = fakes();
    const finish: ChatEvent = { type: "finish", stopReason: "end_turn", stopSequence: null, usage: USAGE };
    const body = relayStream(services, reader([words(1), words(2), words(3), [finish]]), createOpenAIStreamEncoder(META), settlement, options).getReader();
    const chunks: string[] = [];
    for (let next = await body.read(); !next.done; next = await body.read()) chunks.push(new TextDecoder().decode(next.value));
    const contents = (chunk: string) => [...chunk.matchAll(/"content":"(w\d+ )"/g)].length;
    expect(chunks.map(contents)).toEqual([1, 5]);
    expect(chunks.at(-1)?.endsWith("data: [DONE]\n\n")).toBe(true);
  });

  test("a first batch holding the whole answer: the first chunk stops at the first content, the rest follows unchanged", async () => {
    const { services, settlement, options } = fakes();
    const finish: ChatEvent = { type: "finish", stopReason: "end_turn", stopSequence: null, usage: USAGE };
    const body = relayStream(services, reader([[...words(20), finish]]), createOpenAIStreamEncoder(META), settlement, options).getReader();
    const chunks: string[] = [];
    for (let next = await body.read(); !next.done; next = await body.read()) chunks.push(new TextDecoder().decode(next.value));
    const contents = (chunk: string) => [...chunk.matchAll(/"content":"(w\d+ )"/g)].map((match) => match[1]);
    expect(chunks).toHaveLength(2);
    expect(chunks[0]).toContain('"role":"assistant"');
    expect(contents(chunks[0] ?? "")).toEqual(["w0 "]);
    expect(contents(chunks[1] ?? "")).toEqual(Array.from({ length: 19 }, (_, index) => `w${index + 1} `));
    expect(chunks[1]?.endsWith("data: [DONE]\n\n")).toBe(true);
  });

  test("the events carried past the first content are billed when the client leaves before they are sent", async () => {
    const { services, settlement, settled, options } = fakes();
    const body = relayStream(services, reader([words(30)], true), createOpenAIStreamEncoder(META), settlement, options).getReader();
    await body.read(); // start and the first word only
    await body.cancel("gone");
    // 30 deltas `w<n> `, a token each by the estimate: all of them, not only the one that was sent.
    expect(settled).toHaveLength(1);
    expect(settled[0]?.usage.output).toBeGreaterThanOrEqual(30);
  });

  test("a client that leaves after the first chunk of an answer the upstream had already finished is billed the upstream's usage", async () => {
    const { services, settlement, settled, options } = fakes();
    const reported = { ...emptyUsage(), input: 1200, output: 800, reasoning: 300 };
    const finish: ChatEvent = { type: "finish", stopReason: "end_turn", stopSequence: null, usage: reported };
    const body = relayStream(services, reader([[...words(3), finish]], true), createOpenAIStreamEncoder(META), settlement, options).getReader();
    await body.read(); // the start and the first word only
    await body.cancel("gone");
    expect(settled.map((outcome) => [outcome.status, outcome.httpStatus, outcome.errorCode])).toEqual([["error", 499, "client_disconnected"]]);
    expect(settled[0]?.usage).toMatchObject({ input: 1200, output: 800, reasoning: 300 });
  });

  test("the client going away aborts the upstream and settles 499 once", async () => {
    const { services, settlement, settled, options } = fakes();
    const source = reader([words(3), words(3)], true);
    const body = relayStream(services, source, createOpenAIStreamEncoder(META), settlement, options).getReader();
    await body.read();
    await body.cancel("gone");
    expect(source.cancelled).toBe(true);
    expect(options.abort.signal.aborted).toBe(true);
    expect(settled.map((outcome) => [outcome.status, outcome.httpStatus, outcome.errorCode])).toEqual([["error", 499, "client_disconnected"]]);
  });

  test("text runs go out as their bytes, in order with the text around them, and count toward the output billed", async () => {
    const { services, settlement, settled, options } = fakes();
    const runTexts = [["two ", "thré€ ", 'say "hi" '], ["four ", "five"]];
    const opening: ChatEvent[] = [
      { type: "start", id: "x", usage: emptyUsage() },
      { type: "block-start", index: 0, block: { type: "text" } },
      { type: "block-delta", index: 0, delta: { type: "text", text: "one " } },
    ];
    const finish: ChatEvent = { type: "finish", stopReason: "end_turn", stopSequence: null, usage: { ...emptyUsage(), input: 3 } };
    const upstream = reader([
      opening,
      [{ type: "text-run", index: 0, run: textRunOf(runTexts[0] ?? []) }],
      [{ type: "text-run", index: 0, run: textRunOf(runTexts[1] ?? []) }, { type: "block-stop", index: 0 }, finish],
    ]);
    const text = await readAll(relayStream(services, upstream, createAnthropicStreamEncoder(META), settlement, options));
    const deltas = [...text.matchAll(/^data: (\{"type":"content_block_delta".*)$/gm)].map((match) => (JSON.parse(match[1] ?? "") as { delta: { text: string } }).delta.text);
    const all = ["one ", ...runTexts.flat()];
    expect(deltas).toEqual(all);
    expect(text.indexOf("content_block_stop")).toBeGreaterThan(text.lastIndexOf("five"));
    expect(text.endsWith("event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n")).toBe(true);
    // The upstream reported no output: the gateway's count of every delta, the runs' included, is billed.
    expect(settled[0]?.usage.output).toBe(all.reduce((sum, delta) => sum + estimateTextTokens(delta), 0));
  });

  test("a stream cut after a text run bills the run's tokens", async () => {
    const { services, settlement, settled, options } = fakes();
    const run = textRunOf(["alpha ", "beta ", "gamma"]);
    const upstream = reader([[...words(1), { type: "block-start", index: 1, block: { type: "text" } }, { type: "text-run", index: 1, run }]]);
    const text = await readAll(relayStream(services, upstream, createAnthropicStreamEncoder(META), settlement, options));
    expect(text).toContain('"text":"gamma"');
    expect(text.endsWith('"details":{"error_code":"upstream_error"}}}\n\n')).toBe(true);
    expect(settled[0]).toMatchObject({ status: "error", httpStatus: 502 });
    expect(settled[0]?.usage.output).toBe(estimateTextTokens("w0 ") + run.tokens);
  });
});
