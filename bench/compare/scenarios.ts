/** bench/compare.ts's targets and scenarios, the request each target gets, and the check of each answer. */

import type { WrkRequest } from "../lib/wrk.ts";
import { ANSWER, ANTHROPIC_VERSION, CONNECTIONS, flags, MAX_TOKENS, MODEL_FAST, MODEL_SLOW, ROUNDS, SECONDS, SLOW_CONNECTIONS, SLOW_MS, SLOW_ROUNDS, SLOW_SECONDS, TOKENS, TTFB_CALLS, TTFB_CALLS_SLOW } from "./settings.ts";

export type TargetId = "direct" | "floor" | "tollgate" | "portkey";
export const TARGET_NAME: Record<TargetId, string> = { direct: "direct", floor: "floor", tollgate: "Tollgate", portkey: "Portkey" };

export type Dialect = "openai" | "anthropic";

export interface Scenario {
  id: string;
  title: string;
  client: Dialect;
  stream: boolean;
  latencyMs: number;
  /** The throughput cell's connections (its latency is reported too). */
  connections: number;
  /** Also measure latency at concurrency 1. */
  concurrencyOne: boolean;
  /** Throughput rounds (the first LATENCY_ROUNDS of them also at 1 connection). */
  rounds: number;
  ttfbCalls: number;
  seconds: number;
  /**
   * Warm-up cells first: every target in the first scenario; in the others only the gateways whose JIT
   * meets a new path (Tollgate, Portkey); the 50 ms scenarios after the first reuse warm pools and JIT.
   */
  warmup: "all" | "gateways" | "none";
}

export function scenarios(): Scenario[] {
  const base = [
    { key: "openai", title: "OpenAI non-stream", client: "openai", stream: false },
    { key: "openai-stream", title: `OpenAI stream (${TOKENS} tokens)`, client: "openai", stream: true },
    { key: "anthropic-openai", title: "Anthropic client → OpenAI upstream (translated), non-stream", client: "anthropic", stream: false },
    { key: "anthropic-openai-stream", title: `Anthropic client → OpenAI upstream (translated), stream (${TOKENS} tokens)`, client: "anthropic", stream: true },
  ] as const;
  const fast = base.map(
    (item, index): Scenario => ({
      id: item.key,
      title: item.title,
      client: item.client,
      stream: item.stream,
      latencyMs: 0,
      connections: CONNECTIONS,
      concurrencyOne: true,
      rounds: ROUNDS,
      ttfbCalls: TTFB_CALLS,
      seconds: SECONDS,
      warmup: index === 0 ? "all" : "gateways",
    }),
  );
  const slow = base.map(
    (item, index): Scenario => ({
      id: `${item.key}-50ms`,
      title: `${item.title}, ${SLOW_MS} ms upstream, ${SLOW_CONNECTIONS} connections`,
      client: item.client,
      stream: item.stream,
      latencyMs: SLOW_MS,
      connections: SLOW_CONNECTIONS,
      concurrencyOne: false,
      rounds: SLOW_ROUNDS,
      ttfbCalls: TTFB_CALLS_SLOW,
      seconds: SLOW_SECONDS,
      warmup: index === 0 ? "all" : "none",
    }),
  );
  const all = [...fast, ...slow];
  if (flags.only === undefined) return all;
  const wanted = new Set(flags.only.split(",").map((id) => id.trim()));
  const unknown = [...wanted].filter((id) => !all.some((scenario) => scenario.id === id));
  if (unknown.length > 0) throw new Error(`--only: unknown scenario ${unknown.join(", ")}; known: ${all.map((scenario) => scenario.id).join(", ")}`);
  return all.filter((scenario) => wanted.has(scenario.id));
}

export interface Endpoints {
  mockPort: number;
  floorPort: number;
  tollgateUrl: string;
  tollgateKey: string;
  portkeyUrl: string | null;
}

/** Whether `target` serves `scenario`: Portkey 1.15 answers `/v1/messages` for an openai provider with 500 "messages is not supported by openai". */
export function supports(target: TargetId, scenario: Scenario): boolean {
  return !(target === "portkey" && scenario.client === "anthropic");
}

export function clientPath(scenario: Scenario): string {
  return scenario.client === "openai" ? "/v1/chat/completions" : "/v1/messages";
}

export function clientBody(scenario: Scenario, model: string): string {
  const messages = [{ role: "user", content: "Write about a quick brown fox." }];
  if (scenario.client === "openai") {
    return JSON.stringify(scenario.stream ? { model, max_tokens: MAX_TOKENS, stream: true, stream_options: { include_usage: true }, messages } : { model, max_tokens: MAX_TOKENS, messages });
  }
  return JSON.stringify(scenario.stream ? { model, max_tokens: MAX_TOKENS, stream: true, messages } : { model, max_tokens: MAX_TOKENS, messages });
}

export interface TargetRequest {
  baseUrl: string;
  request: WrkRequest;
}

/** The call a client of `target` makes in `scenario`: the same body shape everywhere, the routing each needs. */
export function requestFor(target: TargetId, scenario: Scenario, endpoints: Endpoints): TargetRequest {
  const prefix = scenario.latencyMs > 0 ? `/latency-${scenario.latencyMs}` : "";
  const json = { "content-type": "application/json" };
  const anthropic = scenario.client === "anthropic" ? { "anthropic-version": ANTHROPIC_VERSION } : {};
  switch (target) {
    case "direct":
    case "floor": {
      const port = target === "direct" ? endpoints.mockPort : endpoints.floorPort;
      const auth = scenario.client === "anthropic" ? { "x-api-key": "sk-ant-bench" } : { authorization: "Bearer sk-bench" };
      return { baseUrl: `http://127.0.0.1:${port}`, request: { method: "POST", path: `${prefix}${clientPath(scenario)}`, body: clientBody(scenario, "mock-model"), headers: { ...json, ...anthropic, ...auth } } };
    }
    case "tollgate": {
      const auth = scenario.client === "anthropic" ? { "x-api-key": endpoints.tollgateKey } : { authorization: `Bearer ${endpoints.tollgateKey}` };
      const model = scenario.latencyMs > 0 ? MODEL_SLOW : MODEL_FAST;
      return { baseUrl: endpoints.tollgateUrl, request: { method: "POST", path: clientPath(scenario), body: clientBody(scenario, model), headers: { ...json, ...anthropic, ...auth } } };
    }
    case "portkey": {
      if (!endpoints.portkeyUrl) throw new Error("Portkey is not running");
      const headers = { ...json, ...anthropic, authorization: "Bearer sk-bench", "x-portkey-provider": "openai", "x-portkey-custom-host": `http://127.0.0.1:${endpoints.mockPort}${prefix}/v1` };
      return { baseUrl: endpoints.portkeyUrl, request: { method: "POST", path: clientPath(scenario), body: clientBody(scenario, "gpt-4o-mini"), headers } };
    }
  }
}

// ---------------------------------------------------------------------------------------------------
// Correctness: once per target and scenario, the whole answer

export interface SseEvent {
  event: string | null;
  data: string;
}

export function parseSse(text: string): SseEvent[] {
  const events: SseEvent[] = [];
  for (const block of text.replace(/\r\n/g, "\n").split("\n\n")) {
    let event: string | null = null;
    const data: string[] = [];
    for (const line of block.split("\n")) {
      if (line.startsWith("event:")) event = line.slice(6).trim();
      else if (line.startsWith("data:")) data.push(line.slice(5).replace(/^ /, ""));
    }
    if (data.length > 0) events.push({ event, data: data.join("\n") });
  }
  return events;
}

/** `value[k1][k2]…`, or undefined where the path does not exist (numbers index arrays). */
export function dig(value: unknown, ...path: (string | number)[]): unknown {
  let current = value;
  for (const key of path) {
    if (typeof current !== "object" || current === null) return undefined;
    current = (current as Record<string | number, unknown>)[key];
  }
  return current;
}

/** Throws unless `text` is the whole expected answer in the scenario's client dialect. */
export function checkAnswer(label: string, scenario: Scenario, status: number, text: string): void {
  const fail = (what: string): never => {
    throw new Error(`${label}: ${what} (status ${status}; body starts ${JSON.stringify(text.slice(0, 300))})`);
  };
  if (status !== 200) fail("not a 200");
  if (!scenario.stream) {
    const body: unknown = JSON.parse(text);
    if (scenario.client === "openai") {
      if (dig(body, "choices", 0, "message", "content") !== ANSWER) fail("the message content differs from the upstream's answer");
      if (dig(body, "choices", 0, "finish_reason") !== "stop") fail(`finish_reason ${String(dig(body, "choices", 0, "finish_reason"))}`);
      if (dig(body, "usage", "completion_tokens") !== TOKENS) fail(`usage.completion_tokens ${String(dig(body, "usage", "completion_tokens"))}`);
    } else {
      if (dig(body, "type") !== "message" || dig(body, "content", 0, "text") !== ANSWER) fail("the message text differs from the upstream's answer");
      if (dig(body, "stop_reason") !== "end_turn") fail(`stop_reason ${String(dig(body, "stop_reason"))}`);
      if (dig(body, "usage", "output_tokens") !== TOKENS) fail(`usage.output_tokens ${String(dig(body, "usage", "output_tokens"))}`);
    }
    return;
  }
  const events = parseSse(text);
  let answer = "";
  if (scenario.client === "openai") {
    if (events.at(-1)?.data !== "[DONE]") fail("the stream does not end with data: [DONE]");
    let finish: unknown = null;
    let completion: unknown = null;
    for (const event of events.slice(0, -1)) {
      const data: unknown = JSON.parse(event.data);
      const content = dig(data, "choices", 0, "delta", "content");
      if (typeof content === "string") answer += content;
      const reason = dig(data, "choices", 0, "finish_reason");
      if (reason) finish = reason;
      const usage = dig(data, "usage");
      if (usage) completion = dig(usage, "completion_tokens");
    }
    if (finish !== "stop") fail(`finish_reason ${String(finish)}`);
    if (completion !== TOKENS) fail(`the usage chunk reports ${String(completion)} completion tokens`);
  } else {
    if (events[0]?.event !== "message_start") fail("the stream does not start with message_start");
    if (events.at(-1)?.event !== "message_stop") fail("the stream does not end with message_stop");
    let output: unknown = null;
    for (const event of events) {
      const data: unknown = JSON.parse(event.data);
      const text = dig(data, "delta", "text");
      if (dig(data, "type") === "content_block_delta" && dig(data, "delta", "type") === "text_delta" && typeof text === "string") answer += text;
      if (dig(data, "type") === "message_delta") output = dig(data, "usage", "output_tokens");
    }
    if (output !== TOKENS) fail(`message_delta reports ${String(output)} output tokens`);
  }
  if (answer !== ANSWER) fail("the concatenated deltas differ from the upstream's answer");
}

export async function checkOnce(target: TargetId, scenario: Scenario, call: TargetRequest): Promise<void> {
  const response = await fetch(`${call.baseUrl}${call.request.path}`, { method: call.request.method, headers: call.request.headers, body: call.request.body ?? null });
  checkAnswer(`${TARGET_NAME[target]}, ${scenario.title}`, scenario, response.status, await response.text());
}

