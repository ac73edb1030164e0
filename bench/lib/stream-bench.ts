/**
 * The streamed-answer harness shared by bench/translation.ts and bench/runtime-options.ts: the four
 * client × upstream scenarios, the bench upstream (stream-upstream.ts) and gateways as separate processes,
 * batches of requests whose answers are checked, and the gateway's CPU time around each batch.
 */

import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { SseDecoder, type SseEvent } from "../../src/sse/decode.ts";
import { modelToml, providerToml, UNLIMITED_TIER_TOML } from "./bench-config.ts";
import { gatewayCommand, type GatewayChoice, type GatewayCommand } from "./gateway-binary.ts";
import { cpuMs, msUntilHealthy, runCliOutput, startGateway, startPortPrinter, stopGateway, untilQuiet, type Started } from "./gateway-process.ts";
import { summarize, type Summary } from "./stats.ts";
import { benchAnswer } from "./stream-upstream.ts";

const ROOT = join(import.meta.dir, "..", "..");
export const MAX_TOKENS = 2000;
const ANTHROPIC_VERSION = "2023-06-01";

export type ClientDialect = "anthropic" | "openai";
export const DIALECT_NAME = { anthropic: "Anthropic", openai: "OpenAI" } as const;

export interface Scenario {
  id: string;
  client: ClientDialect;
  upstream: ClientDialect;
  translated: boolean;
  model: string;
}

/** In the order each round runs them: passthrough then translated, per client dialect (A B A B …). */
export const ALL_SCENARIOS: readonly Scenario[] = [
  { id: "anthropic-passthrough", client: "anthropic", upstream: "anthropic", translated: false, model: "m-anthropic" },
  { id: "anthropic-translated", client: "anthropic", upstream: "openai", translated: true, model: "m-openai" },
  { id: "openai-passthrough", client: "openai", upstream: "openai", translated: false, model: "m-openai" },
  { id: "openai-translated", client: "openai", upstream: "anthropic", translated: true, model: "m-anthropic" },
];

export interface StreamBenchSettings {
  /** Tokens per answer (one-word content deltas). */
  tokens: number;
  /** The upstream waits this long between events (0: as fast as possible). */
  paceMs: number;
  /** Requests per batch, and how many at a time. */
  batch: number;
  concurrency: number;
  /** The OpenAI upstream pads every chunk as api.openai.com does (`"obfuscation"`). */
  obfuscation?: boolean;
}

/** A gateway under test: its process and its inference key. */
export interface Gateway {
  started: Started;
  key: string;
}

/** A gateway to start: extra environment variables and, for a baseline binary, its own command. */
export interface GatewaySpec {
  env: Record<string, string>;
  command?: GatewayCommand;
}

export interface BatchResult {
  /** CPU ms per request from schedstat (`cpuMs`: ns on CPU, every live thread). */
  cpuMsPerRequest: number;
  /** The same from /proc/<pid>/stat clock ticks (10 ms: too coarse for a 100-request batch), a cross-check. */
  ticksMsPerRequest: number;
  requestsPerSecond: number;
}

// ---------------------------------------------------------------------------------------------------
// Processes: the bench upstream, the gateway command, the CLI

/** Spawns bench/lib/stream-upstream.ts and reads the port it prints as its first line. */
function startUpstream(settings: StreamBenchSettings): Promise<{ child: Bun.Subprocess; port: number }> {
  const args = ["--tokens", String(settings.tokens), "--pace-ms", String(settings.paceMs), ...(settings.obfuscation ? ["--obfuscation"] : [])];
  return startPortPrinter(["bun", join(import.meta.dir, "stream-upstream.ts"), ...args], "the bench upstream", { cwd: ROOT });
}

/** Two providers on the bench upstream, one model on each; limits far above what the bench sends. */
function benchConfigToml(upstreamPort: number): string {
  const model = (id: string, provider: string) => modelToml({ id, provider, upstreamModel: "bench-upstream", maxOutputTokens: MAX_TOKENS * 2, outputUsdPerMtok: 1 });
  return [
    '[server]\ndatabase = "./tollgate.db"\n',
    UNLIMITED_TIER_TOML,
    providerToml("up-openai", "openai", `http://127.0.0.1:${upstreamPort}/v1`),
    providerToml("up-anthropic", "anthropic", `http://127.0.0.1:${upstreamPort}`),
    model("m-openai", "up-openai"),
    model("m-anthropic", "up-anthropic"),
  ].join("");
}

// ---------------------------------------------------------------------------------------------------
// Requests and their checks

export function requestFor(baseUrl: string, key: string, scenario: Scenario): () => Request {
  const messages = [{ role: "user", content: "Write about a quick brown fox, at length." }];
  if (scenario.client === "anthropic") {
    const body = JSON.stringify({ model: scenario.model, max_tokens: MAX_TOKENS, stream: true, messages });
    const headers = { "x-api-key": key, "anthropic-version": ANTHROPIC_VERSION, "content-type": "application/json" };
    return () => new Request(`${baseUrl}/v1/messages`, { method: "POST", headers, body });
  }
  const body = JSON.stringify({ model: scenario.model, max_tokens: MAX_TOKENS, stream: true, stream_options: { include_usage: true }, messages });
  const headers = { authorization: `Bearer ${key}`, "content-type": "application/json" };
  return () => new Request(`${baseUrl}/v1/chat/completions`, { method: "POST", headers, body });
}

const TAIL = { anthropic: "event: message_stop\ndata: ", openai: "data: [DONE]\n\n" } as const;

/** Every response: 200 and the dialect's proper last event (a cheap check of the tail only). */
function checkTail(scenario: Scenario, status: number, bytes: Uint8Array): void {
  const tail = new TextDecoder().decode(bytes.subarray(Math.max(0, bytes.length - 200)));
  const ok = scenario.client === "anthropic" ? tail.includes(TAIL.anthropic) && tail.endsWith("\n\n") : tail.endsWith(TAIL.openai);
  if (status !== 200 || !ok) throw new Error(`${scenario.id}: status ${status}, stream ended with ${JSON.stringify(tail.slice(-120))}`);
}

function parseEvents(bytes: Uint8Array): SseEvent[] {
  const decoder = new SseDecoder();
  return [...decoder.push(bytes), ...decoder.end()];
}

/** Once per scenario: the whole answer of `tokens` deltas, delta by delta, and a proper end with the usage reported. */
export function checkAnswer(scenario: Scenario, bytes: Uint8Array, tokens: number): void {
  const answer = benchAnswer(tokens);
  const events = parseEvents(bytes);
  const fail = (what: string) => {
    throw new Error(`${scenario.id}: ${what}`);
  };
  let deltas = 0;
  let text = "";
  if (scenario.client === "anthropic") {
    let outputTokens: unknown = null;
    for (const event of events) {
      const data = JSON.parse(event.data) as { type?: string; delta?: { type?: string; text?: string }; usage?: { output_tokens?: unknown } };
      if (data.type !== event.event) fail(`event '${event.event}' carries type '${data.type}'`);
      if (event.event === "content_block_delta" && data.delta?.type === "text_delta") {
        deltas++;
        text += data.delta.text ?? "";
      }
      if (event.event === "message_delta") outputTokens = data.usage?.output_tokens;
    }
    if (events[0]?.event !== "message_start") fail(`first event is '${events[0]?.event}', not message_start`);
    if (events.at(-1)?.event !== "message_stop") fail(`last event is '${events.at(-1)?.event}', not message_stop`);
    if (outputTokens !== tokens) fail(`message_delta reports ${String(outputTokens)} output tokens, not ${tokens}`);
  } else {
    let finishReason: unknown = null;
    let completionTokens: unknown = null;
    for (const event of events.slice(0, -1)) {
      const data = JSON.parse(event.data) as { choices?: Array<{ delta?: { content?: string }; finish_reason?: unknown }>; usage?: { completion_tokens?: unknown } };
      const content = data.choices?.[0]?.delta?.content;
      if (typeof content === "string" && content !== "") {
        deltas++;
        text += content;
      }
      if (data.choices?.[0]?.finish_reason) finishReason = data.choices[0].finish_reason;
      if (data.usage) completionTokens = data.usage.completion_tokens;
    }
    if (events.at(-1)?.data !== "[DONE]") fail(`last event is '${events.at(-1)?.data.slice(0, 80)}', not [DONE]`);
    if (finishReason !== "stop") fail(`finish_reason is ${String(finishReason)}, not stop`);
    if (completionTokens !== tokens) fail(`the usage chunk reports ${String(completionTokens)} completion tokens, not ${tokens}`);
  }
  if (deltas !== tokens) fail(`${deltas} content deltas, not ${tokens}`);
  if (text !== answer) fail("the concatenated deltas differ from the upstream's answer");
}

export async function send(scenario: Scenario, make: () => Request): Promise<Uint8Array> {
  const response = await fetch(make());
  const bytes = new Uint8Array(await response.arrayBuffer());
  checkTail(scenario, response.status, bytes);
  return bytes;
}

// ---------------------------------------------------------------------------------------------------
// CPU time of the gateway process, around batches

export const CLK_TCK = (() => {
  const result = Bun.spawnSync(["getconf", "CLK_TCK"], { stdout: "pipe", stderr: "ignore" });
  const ticks = Number(result.stdout.toString().trim());
  return result.exitCode === 0 && Number.isInteger(ticks) && ticks > 0 ? ticks : 100;
})();

/** utime + stime of every thread of `pid`, in clock ticks (fields 14 and 15 of /proc/<pid>/stat). */
function cpuTicks(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  // The command name (field 2) may contain spaces: the fields that follow start after its last ")".
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  const utime = Number(fields[11]);
  const stime = Number(fields[12]);
  if (!Number.isFinite(utime) || !Number.isFinite(stime)) throw new Error(`unexpected /proc/${pid}/stat: ${stat.slice(0, 200)}`);
  return utime + stime;
}

/**
 * `batch` requests, `concurrency` at a time, each body read to its end; the gateway's CPU from before the
 * first to when it is quiet again after the last.
 */
export async function runBatch(settings: StreamBenchSettings, pid: number, scenario: Scenario, make: () => Request): Promise<BatchResult> {
  const { batch, concurrency } = settings;
  let issued = 0;
  const worker = async () => {
    while (issued < batch) {
      issued++;
      await send(scenario, make);
    }
  };
  const ticksBefore = cpuTicks(pid);
  const schedBefore = cpuMs(pid);
  const startedAt = performance.now();
  await Promise.all(Array.from({ length: Math.min(concurrency, batch) }, worker));
  const elapsedMs = performance.now() - startedAt;
  await untilQuiet(pid);
  const schedMs = cpuMs(pid) - schedBefore;
  const ticks = cpuTicks(pid) - ticksBefore;
  return { cpuMsPerRequest: schedMs / batch, ticksMsPerRequest: ((ticks / CLK_TCK) * 1000) / batch, requestsPerSecond: batch / (elapsedMs / 1000) };
}

/**
 * The bench upstream and one gateway per spec (each in its own folder, with its own database and the
 * spec's extra environment variables), for the length of `body`.
 */
export async function withProcesses<T>(
  settings: StreamBenchSettings,
  choice: GatewayChoice,
  specs: readonly GatewaySpec[],
  body: (gateways: Gateway[], upstreamPort: number, command: GatewayCommand) => Promise<T>,
): Promise<T> {
  const command = await gatewayCommand(choice);
  const upstream = await startUpstream(settings);
  const dirs: string[] = [];
  const gateways: Gateway[] = [];
  try {
    for (const { env, command: own = command } of specs) {
      const dir = mkdtempSync(join(tmpdir(), "tollgate-bench-stream-"));
      dirs.push(dir);
      const config = join(dir, "tollgate.toml");
      writeFileSync(config, benchConfigToml(upstream.port));
      const key = (JSON.parse(runCliOutput([...own.argv, "init", "--config", config, "--json"], dir)) as { inference_key: string }).inference_key;
      runCliOutput([...own.argv, "wallet", "credit", "--workspace", "default", "--usd", "100000", "--config", config], dir);
      const started = await startGateway(own.argv, dir, config, join(dir, "serve.log"), { TOLLGATE_LOG_LEVEL: "error", ...env });
      gateways.push({ started, key });
      await msUntilHealthy(started, 15_000);
    }
    return await body(gateways, upstream.port, command);
  } finally {
    for (const [index, { started }] of gateways.entries()) {
      const code = await stopGateway(started.child);
      if (code !== 0) console.error(`warning: gateway exited with ${code ?? "no code (SIGKILL after timeout)"} on SIGTERM`);
      const errorLog = join(dirs[index] ?? "", "serve.log.err");
      const errors = existsSync(errorLog) ? readFileSync(errorLog, "utf8").trim() : "";
      if (errors !== "") console.error(`gateway stderr:\n${errors.slice(0, 2000)}`);
    }
    upstream.child.kill("SIGTERM");
    await upstream.child.exited;
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  }
}

// ---------------------------------------------------------------------------------------------------
// Two gateways, batch for batch

export interface PairRow {
  scenario: Scenario;
  base: Summary;
  other: Summary;
  /** Per round, other ÷ base − 1. */
  paired: Summary;
}

export interface PairRun {
  command: GatewayCommand;
  rows: PairRow[];
  /** The two gateways, still running: read their memory before `withProcesses` stops them. */
  gateways: readonly [Gateway, Gateway];
}

/**
 * Every scenario on two gateways, batch for batch (which goes first alternates by round), `rounds` rounds
 * after a warm-up round; `after` runs while both gateways still run (to read their memory).
 */
export async function measurePair<T>(
  settings: StreamBenchSettings,
  choice: GatewayChoice,
  scenarios: readonly Scenario[],
  rounds: number,
  specs: readonly [GatewaySpec, GatewaySpec],
  after: (run: PairRun) => Promise<T>,
): Promise<T> {
  return withProcesses(settings, choice, specs, async (gateways, _upstreamPort, command) => {
    const [first, second] = gateways;
    if (!first || !second) throw new Error("two gateways expected");
    const samples = new Map<string, { base: BatchResult[]; other: BatchResult[] }>(scenarios.map((scenario) => [scenario.id, { base: [], other: [] }]));
    for (let round = 0; round <= rounds; round++) {
      for (const scenario of scenarios) {
        const order = round % 2 === 0 ? ([["base", first], ["other", second]] as const) : ([["other", second], ["base", first]] as const);
        for (const [label, gateway] of order) {
          const result = await runBatch(settings, gateway.started.child.pid, scenario, requestFor(gateway.started.baseUrl, gateway.key, scenario));
          if (round > 0) samples.get(scenario.id)?.[label].push(result);
        }
      }
      console.error(`round ${round}${round === 0 ? " (warm-up)" : ""} done`);
    }
    const rows = scenarios.map((scenario): PairRow => {
      const { base: baseBatches = [], other: otherBatches = [] } = samples.get(scenario.id) ?? {};
      return {
        scenario,
        base: summarize(baseBatches.map((batch) => batch.cpuMsPerRequest)),
        other: summarize(otherBatches.map((batch) => batch.cpuMsPerRequest)),
        paired: summarize(otherBatches.map((batch, round) => batch.cpuMsPerRequest / (baseBatches[round]?.cpuMsPerRequest ?? Number.NaN) - 1)),
      };
    });
    return after({ command, rows, gateways: [first, second] });
  });
}
