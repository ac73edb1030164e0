/**
 * The targets of the memory benches (bench/stream-memory.ts, bench/allocator-profile.ts) under the
 * comparison's heaviest streamed load: OpenAI streams through a 50 ms upstream at 128 connections. Each
 * target is a fresh process: the floor (Bun passing the upstream's body through natively), a bare
 * JavaScript relay (bench/lib/floor-proxy.ts --relay) and Tollgate (on a fresh database). All three run
 * with the memory options `tollgate serve` gives itself, so they differ only in what each does with a stream.
 */

import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { runtimeTuning } from "../../src/cli/runtime-tuning.ts";
import { modelToml, providerToml, UNLIMITED_TIER_TOML } from "./bench-config.ts";
import type { GatewayCommand } from "./gateway-binary.ts";
import { childEnv, msUntilHealthy, runCliOutput, startGateway, startPortPrinter, stopGateway } from "./gateway-process.ts";
import { type Machine, machineLine } from "./machine.ts";
import { fixed } from "./stats.ts";
import type { WrkRequest } from "./wrk.ts";

export const UPSTREAM_LATENCY_MS = 50;
export const CONNECTIONS = 128;
const MODEL = "m-stream";
/** The options `tollgate serve` gives itself on this Bun, given to the floor and the relay too. */
const SERVE_RUNTIME_ENV = runtimeTuning(["bun", "main.ts", "serve"], {}, Bun.version) ?? {};

export type StreamTargetId = "floor" | "relay" | "tollgate";
export const STREAM_TARGETS: readonly StreamTargetId[] = ["floor", "relay", "tollgate"];
export const STREAM_TARGET_NAME: Record<StreamTargetId, string> = { floor: "floor", relay: "JavaScript relay", tollgate: "Tollgate" };

/** A target process, listening. */
export interface StreamTarget {
  pid: number;
  baseUrl: string;
  /** The streamed call this target is loaded with. */
  request: WrkRequest;
  /** Where its stderr goes (null: to this process's). */
  stderrPath: string | null;
  stop(): Promise<unknown>;
}

export interface StreamTargetOptions {
  /** Environment added to the target's own (e.g. BUN_OPTIONS). */
  extraEnv?: Record<string, string>;
  /** Keep the floor's and the relay's stderr in a file (Tollgate's always goes to its log folder). */
  captureStderr?: boolean;
  /** Tollgate only: call it as an Anthropic client (Messages API), so it translates the OpenAI upstream's streams. */
  anthropicClient?: boolean;
}

const MESSAGES = [{ role: "user", content: "Write about a quick brown fox." }];

function streamRequest(model: string, auth: string): WrkRequest {
  const body = JSON.stringify({ model, max_tokens: 4096, stream: true, stream_options: { include_usage: true }, messages: MESSAGES });
  return { method: "POST", path: "/v1/chat/completions", body, headers: { "content-type": "application/json", authorization: `Bearer ${auth}` } };
}

function anthropicStreamRequest(model: string, key: string): WrkRequest {
  const body = JSON.stringify({ model, max_tokens: 4096, stream: true, messages: MESSAGES });
  return { method: "POST", path: "/v1/messages", body, headers: { "content-type": "application/json", "anthropic-version": "2023-06-01", "x-api-key": key } };
}

/** A fresh database for Tollgate in `dir` (its own config, workspace and credit): its config path and inference key. */
function initTollgate(argv: readonly string[], dir: string, mockPort: number): { config: string; key: string } {
  const config = join(dir, "tollgate.toml");
  const provider = providerToml("up-openai", "openai", `http://127.0.0.1:${mockPort}/latency-${UPSTREAM_LATENCY_MS}/v1`);
  writeFileSync(config, ['[server]\ndatabase = "./tollgate.db"\n', UNLIMITED_TIER_TOML, provider, modelToml({ id: MODEL, provider: "up-openai", upstreamModel: "mock-upstream-model", maxOutputTokens: 4096, outputUsdPerMtok: 2 })].join(""));
  const key = (JSON.parse(runCliOutput([...argv, "init", "--config", config, "--json"], dir)) as { inference_key: string }).inference_key;
  runCliOutput([...argv, "wallet", "credit", "--workspace", "default", "--usd", "1000000", "--config", config], dir);
  return { config, key };
}

/**
 * Starts a fresh process of `target` against the mock upstream on `mockPort`, its files in a new folder
 * under `dir`; resolves once it serves. `tollgateArgv` runs Tollgate (bench/lib/gateway-binary.ts).
 */
export async function startStreamTarget(target: StreamTargetId, mockPort: number, dir: string, tollgateArgv: readonly string[], options: StreamTargetOptions = {}): Promise<StreamTarget> {
  if (options.anthropicClient === true && target !== "tollgate") throw new Error(`the ${STREAM_TARGET_NAME[target]} does not translate: only Tollgate takes an Anthropic client`);
  const cellDir = mkdtempSync(join(dir, `${target}-`));
  if (target === "tollgate") {
    const { config, key } = initTollgate(tollgateArgv, cellDir, mockPort);
    const logPath = join(cellDir, "serve.log");
    const started = await startGateway(tollgateArgv, cellDir, config, logPath, { TOLLGATE_LOG_LEVEL: "error", ...options.extraEnv });
    try {
      await msUntilHealthy(started, 15_000);
    } catch (error) {
      await stopGateway(started.child);
      throw error;
    }
    const request = options.anthropicClient === true ? anthropicStreamRequest(MODEL, key) : streamRequest(MODEL, key);
    return { pid: started.child.pid, baseUrl: started.baseUrl, request, stderrPath: `${logPath}.err`, stop: () => stopGateway(started.child) };
  }
  const proxy = join(import.meta.dir, "floor-proxy.ts");
  const upstream = `http://127.0.0.1:${mockPort}/latency-${UPSTREAM_LATENCY_MS}`;
  const stderrPath = options.captureStderr === true ? join(cellDir, "proxy.err") : null;
  const { child, port } = await startPortPrinter(["bun", proxy, "--upstream", upstream, ...(target === "relay" ? ["--relay"] : [])], STREAM_TARGET_NAME[target], {
    env: childEnv({ ...SERVE_RUNTIME_ENV, ...options.extraEnv }),
    ...(stderrPath === null ? {} : { stderrPath }),
  });
  return { pid: child.pid, baseUrl: `http://127.0.0.1:${port}`, request: streamRequest("mock-model", "sk-bench"), stderrPath, stop: () => stopGateway(child) };
}

/** `items` starting at `round` (modulo their count): the first turns each round, so none is always measured first. */
export function rotated<T>(items: readonly T[], round: number): T[] {
  return items.map((_, index) => items[(index + round) % items.length] as T);
}

/** A memory bench section's first lines: the machine, the gateway, the load around the run, its time and its command. */
export function runHeaderLines(run: { machine: Machine; gateway: GatewayCommand; loadBefore: number; startedAt: number; command: string }): string[] {
  return [
    `Measured ${machineLine(run.machine)}; gateway ${run.gateway.label} (commit ${run.gateway.commit});`,
    `1-minute load average ${fixed(run.loadBefore, 2)} before, ${fixed(loadavg()[0] as number, 2)} after; ${fixed((performance.now() - run.startedAt) / 1000, 0)} s in all.`,
    `Reproduce: \`${run.command}\`.`,
  ];
}

/** Runs `work` against a fresh mock upstream answering `tokens` tokens, in a scratch folder; stops and removes both after. */
export async function withMockUpstream(tokens: number, label: string, work: (mockPort: number, dir: string) => Promise<void>): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), `tollgate-${label}-`));
  let mock: { child: Bun.Subprocess; port: number } | null = null;
  try {
    mock = await startPortPrinter(["bun", join(import.meta.dir, "mock-upstream.ts"), "--tokens", String(tokens)], "the mock upstream");
    await work(mock.port, dir);
  } finally {
    if (mock) await stopGateway(mock.child);
    rmSync(dir, { recursive: true, force: true });
  }
}
