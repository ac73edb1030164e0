/**
 * Peak memory under streamed load, by answer length: the floor (Bun passing the upstream's body through
 * natively), a bare JavaScript relay (the same, with the body read chunk by chunk in JavaScript and
 * re-streamed; bench/lib/floor-proxy.ts --relay) and Tollgate (the compiled binary, whole feature path), each a
 * fresh process per cell, under the comparison's heaviest streamed load: OpenAI streams through a 50 ms
 * upstream at 128 connections. All three run with the memory options `tollgate serve` gives itself
 * (src/cli/runtime-tuning.ts), so the columns differ only in what each does with a stream. It splits the
 * comparison's peak RSS into what Bun costs any relay that reads its bodies and what is Tollgate's own.
 * Usage: bun bench/stream-memory.ts [--write] [--rounds N] [--seconds S] [--tokens 16,256,1024] [--binary PATH]
 * `--write` rewrites the "Stream memory" section of docs/benchmarks.md.
 */

import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { runtimeTuning } from "../src/cli/runtime-tuning.ts";
import { modelToml, providerToml, UNLIMITED_TIER_TOML } from "./lib/bench-config.ts";
import { publishBenchSection } from "./lib/benchmarks-doc.ts";
import { gatewayCommand } from "./lib/gateway-binary.ts";
import { childEnv, fileRssMb, msUntilHealthy, peakRssMb, runCliOutput, startGateway, startPortPrinter, stopGateway } from "./lib/gateway-process.ts";
import { describeMachine, machineLine } from "./lib/machine.ts";
import { fixed, summarize } from "./lib/stats.ts";
import { ensureWrk, runWrk, writeWrkScript, type WrkRequest } from "./lib/wrk.ts";

const SECTION = "Stream memory";
const COMMAND = "bun bench/stream-memory.ts --write";
const UPSTREAM_LATENCY_MS = 50;
const CONNECTIONS = 128;
const MODEL = "m-stream";
/** The options `tollgate serve` gives itself on this Bun, given to the floor and the relay too. */
const SERVE_RUNTIME_ENV = runtimeTuning(["bun", "main.ts", "serve"], {}, Bun.version) ?? {};

const { values: flags } = parseArgs({
  args: process.argv.slice(2),
  options: {
    write: { type: "boolean", default: false },
    rounds: { type: "string", default: "2" },
    seconds: { type: "string", default: "4" },
    tokens: { type: "string", default: "16,256,1024" },
    binary: { type: "string" },
  },
  strict: true,
});

function intIn(name: string, text: string, min: number, max: number): number {
  const value = Number(text);
  if (!Number.isInteger(value) || value < min || value > max) throw new Error(`--${name} expects an integer from ${min} to ${max}, got '${text}'`);
  return value;
}

const ROUNDS = intIn("rounds", flags.rounds, 1, 10);
const SECONDS = intIn("seconds", flags.seconds, 1, 60);
const TOKEN_COUNTS = flags.tokens.split(",").map((text) => intIn("tokens", text.trim(), 1, 100_000));
if (new Set(TOKEN_COUNTS).size !== TOKEN_COUNTS.length) throw new Error(`--tokens lists a length twice: ${flags.tokens}`);

type TargetId = "floor" | "relay" | "tollgate";
const TARGETS: readonly TargetId[] = ["floor", "relay", "tollgate"];
const TARGET_NAME: Record<TargetId, string> = { floor: "floor", relay: "JavaScript relay", tollgate: "Tollgate" };

interface Cell {
  peakMb: number;
  fileMb: number;
  rps: number;
  failures: number;
}

function streamRequest(model: string, path: string, auth: string): WrkRequest {
  const body = JSON.stringify({ model, max_tokens: 4096, stream: true, stream_options: { include_usage: true }, messages: [{ role: "user", content: "Write about a quick brown fox." }] });
  return { method: "POST", path, body, headers: { "content-type": "application/json", authorization: `Bearer ${auth}` } };
}

/** A fresh database for Tollgate in `dir` (its own config, workspace and credit): its config path and inference key. */
function initTollgate(argv: string[], dir: string, mockPort: number): { config: string; key: string } {
  const config = join(dir, "tollgate.toml");
  const provider = providerToml("up-openai", "openai", `http://127.0.0.1:${mockPort}/latency-${UPSTREAM_LATENCY_MS}/v1`);
  writeFileSync(config, ['[server]\ndatabase = "./tollgate.db"\n', UNLIMITED_TIER_TOML, provider, modelToml({ id: MODEL, provider: "up-openai", upstreamModel: "mock-upstream-model", maxOutputTokens: 4096, outputUsdPerMtok: 2 })].join(""));
  const key = (JSON.parse(runCliOutput([...argv, "init", "--config", config, "--json"], dir)) as { inference_key: string }).inference_key;
  runCliOutput([...argv, "wallet", "credit", "--workspace", "default", "--usd", "1000000", "--config", config], dir);
  return { config, key };
}

/** One fresh process of `target` (Tollgate on a fresh database) under the load: a second's warm-up, then the measured run. */
async function measureCell(target: TargetId, tokens: number, mockPort: number, dir: string, tollgateArgv: string[]): Promise<Cell> {
  const upstream = `http://127.0.0.1:${mockPort}/latency-${UPSTREAM_LATENCY_MS}`;
  let pid: number;
  let baseUrl: string;
  let request: WrkRequest;
  let stop: () => Promise<unknown>;
  let ready: Promise<unknown> = Promise.resolve();
  if (target === "tollgate") {
    const cellDir = mkdtempSync(join(dir, "tollgate-"));
    const { config, key } = initTollgate(tollgateArgv, cellDir, mockPort);
    const started = await startGateway(tollgateArgv, cellDir, config, join(cellDir, "serve.log"), { TOLLGATE_LOG_LEVEL: "error" });
    pid = started.child.pid;
    baseUrl = started.baseUrl;
    request = streamRequest(MODEL, "/v1/chat/completions", key);
    stop = () => stopGateway(started.child);
    ready = msUntilHealthy(started, 15_000);
  } else {
    const proxy = join(import.meta.dir, "lib", "floor-proxy.ts");
    const { child, port } = await startPortPrinter(["bun", proxy, "--upstream", upstream, ...(target === "relay" ? ["--relay"] : [])], TARGET_NAME[target], { env: childEnv(SERVE_RUNTIME_ENV) });
    pid = child.pid;
    baseUrl = `http://127.0.0.1:${port}`;
    request = streamRequest("mock-model", "/v1/chat/completions", "sk-bench");
    stop = () => stopGateway(child);
  }
  try {
    await ready;
    const script = writeWrkScript(dir, `${target}-${tokens}`, request);
    await runWrk({ baseUrl, script, connections: CONNECTIONS, seconds: 1 });
    const report = await runWrk({ baseUrl, script, connections: CONNECTIONS, seconds: SECONDS });
    return { peakMb: peakRssMb(pid), fileMb: fileRssMb(pid), rps: report.rps, failures: report.non2xx + report.socketErrors };
  } finally {
    await stop();
  }
}

const wrk = ensureWrk();
if (!wrk.ok) throw new Error(`wrk is needed: ${wrk.why}`);
const command = await gatewayCommand(flags.binary === undefined ? {} : { binary: flags.binary });
const machine = describeMachine();
const loadBefore = loadavg()[0] as number;
const startedAt = performance.now();
const cells = new Map<string, Cell[]>();
const cellKey = (tokens: number, target: TargetId) => `${tokens}:${target}`;

for (const tokens of TOKEN_COUNTS) {
  const dir = mkdtempSync(join(tmpdir(), "tollgate-stream-memory-"));
  let mock: { child: Bun.Subprocess; port: number } | null = null;
  try {
    mock = await startPortPrinter(["bun", join(import.meta.dir, "lib", "mock-upstream.ts"), "--tokens", String(tokens)], "the mock upstream");
    for (let round = 0; round < ROUNDS; round++) {
      // The first target turns each round, so no target is always measured first.
      const order = TARGETS.map((_, index) => TARGETS[(index + round) % TARGETS.length] as TargetId);
      for (const target of order) {
        const cell = await measureCell(target, tokens, mock.port, dir, command.argv);
        if (cell.failures > 0) throw new Error(`${TARGET_NAME[target]} failed ${cell.failures} calls at ${tokens} tokens`);
        const list = cells.get(cellKey(tokens, target)) ?? [];
        list.push(cell);
        cells.set(cellKey(tokens, target), list);
        console.error(`${tokens} tokens, ${TARGET_NAME[target]}: peak ${fixed(cell.peakMb, 1)} MB (file-backed ${fixed(cell.fileMb, 1)}), ${fixed(cell.rps, 0)} streams/s`);
      }
    }
  } finally {
    if (mock) await stopGateway(mock.child);
    rmSync(dir, { recursive: true, force: true });
  }
}

const median = (tokens: number, target: TargetId, field: keyof Cell): number => summarize((cells.get(cellKey(tokens, target)) ?? []).map((cell) => cell[field])).median;
const each = (tokens: number, target: TargetId): string => (cells.get(cellKey(tokens, target)) ?? []).map((cell) => fixed(cell.peakMb, 1)).join(", ");

const lines: string[] = [];
lines.push(`Measured ${machineLine(machine)}; gateway ${command.label} (commit ${command.commit});`);
lines.push(`1-minute load average ${fixed(loadBefore, 2)} before, ${fixed(loadavg()[0] as number, 2)} after; ${fixed((performance.now() - startedAt) / 1000, 0)} s in all.`);
lines.push(`Reproduce: \`${COMMAND}\`.`);
lines.push("");
lines.push(`Peak RSS (VmHWM, MB; median of ${ROUNDS} fresh processes per cell, each listed) under OpenAI streams through a ${UPSTREAM_LATENCY_MS} ms upstream at ${CONNECTIONS} connections,`);
lines.push("the comparison's heaviest streamed load, by the answer's length. Streams per second in brackets.");
lines.push("");
lines.push(`| tokens per answer | ${TARGETS.map((target) => TARGET_NAME[target]).join(" | ")} | relay − floor | Tollgate − relay |`);
lines.push(`|---:|${TARGETS.map(() => "---:").join("|")}|---:|---:|`);
for (const tokens of TOKEN_COUNTS) {
  const row = TARGETS.map((target) => `${fixed(median(tokens, target, "peakMb"), 1)} (${each(tokens, target)}) [${fixed(median(tokens, target, "rps"), 0)}]`);
  const relayCost = median(tokens, "relay", "peakMb") - median(tokens, "floor", "peakMb");
  const ownCost = median(tokens, "tollgate", "peakMb") - median(tokens, "relay", "peakMb");
  lines.push(`| ${tokens} | ${row.join(" | ")} | ${relayCost >= 0 ? "+" : ""}${fixed(relayCost, 1)} | ${ownCost >= 0 ? "+" : ""}${fixed(ownCost, 1)} |`);
}
lines.push("");
lines.push("File-backed RSS at the end of each run (the executable's and libraries' own pages; median MB): " +
  TARGETS.map((target) => `${TARGET_NAME[target]} ${TOKEN_COUNTS.map((tokens) => fixed(median(tokens, target, "fileMb"), 1)).join(" / ")}`).join("; ") + ` (${TOKEN_COUNTS.join(" / ")} tokens).`);
lines.push("");
lines.push("The bench upstream writes each answer 16 events at a time as fast as the socket takes them, so a stream's");
lines.push("bytes arrive within a few reads: the memory a relay holds per stream grows with the answer's length. The");
lines.push("floor hands the body to Bun's server natively; the JavaScript relay reads each chunk and enqueues it again,");
lines.push("which is the least a gateway that looks at its streams (usage, model id, errors) does; Tollgate adds its");
lines.push("whole feature path. The floor and the relay run from source (`bun`), Tollgate as the compiled binary.");

publishBenchSection(SECTION, lines.join("\n"), COMMAND, flags.write);
