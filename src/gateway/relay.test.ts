import { describe, expect, test } from "bun:test";
import type { ChatEvent } from "../canonical/events.ts";
import { emptyUsage } from "../canonical/usage.ts";
import { createOpenAIStreamEncoder } from "../dialects/openai/encode-stream.ts";
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
    const text = await readAll(relayStream(services, upstream, createOpenAIStreamEncoder(META), settlement, options));
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
    const text = await readAll(relayStream(services, upstream, createOpenAIStreamEncoder(META), settlement, options));
    expect(text).toContain(": keepalive\n\n");
    expect(text).toContain('"content":"w2 "');
    expect(text).toContain('"error":{');
    expect(text).not.toContain("[DONE]");
    expect(settled.map((outcome) => outcome.status)).toEqual(["error"]);
  });
});
