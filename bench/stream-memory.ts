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

import { loadavg } from "node:os";
import { parseArgs } from "node:util";
import { publishBenchSection } from "./lib/benchmarks-doc.ts";
import { integerFlag } from "./lib/flags.ts";
import { gatewayCommand } from "./lib/gateway-binary.ts";
import { fileRssMb, peakRssMb } from "./lib/gateway-process.ts";
import { describeMachine } from "./lib/machine.ts";
import { fixed, summarize } from "./lib/stats.ts";
import { CONNECTIONS, rotated, runHeaderLines, STREAM_TARGET_NAME, STREAM_TARGETS, startStreamTarget, type StreamTargetId, UPSTREAM_LATENCY_MS, withMockUpstream } from "./lib/stream-targets.ts";
import { ensureWrk, runWrk, writeWrkScript } from "./lib/wrk.ts";

const SECTION = "Stream memory";
const COMMAND = "bun bench/stream-memory.ts --write";

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

const ROUNDS = integerFlag("rounds", flags.rounds, 1, 10);
const SECONDS = integerFlag("seconds", flags.seconds, 1, 60);
const TOKEN_COUNTS = flags.tokens.split(",").map((text) => integerFlag("tokens", text.trim(), 1, 100_000));
if (new Set(TOKEN_COUNTS).size !== TOKEN_COUNTS.length) throw new Error(`--tokens lists a length twice: ${flags.tokens}`);

interface Cell {
  peakMb: number;
  fileMb: number;
  rps: number;
  failures: number;
}

/** One fresh process of `target` (Tollgate on a fresh database) under the load: a second's warm-up, then the measured run. */
async function measureCell(target: StreamTargetId, tokens: number, mockPort: number, dir: string, tollgateArgv: string[]): Promise<Cell> {
  const started = await startStreamTarget(target, mockPort, dir, tollgateArgv);
  try {
    const script = writeWrkScript(dir, `${target}-${tokens}`, started.request);
    await runWrk({ baseUrl: started.baseUrl, script, connections: CONNECTIONS, seconds: 1 });
    const report = await runWrk({ baseUrl: started.baseUrl, script, connections: CONNECTIONS, seconds: SECONDS });
    return { peakMb: peakRssMb(started.pid), fileMb: fileRssMb(started.pid), rps: report.rps, failures: report.non2xx + report.socketErrors };
  } finally {
    await started.stop();
  }
}

const wrk = ensureWrk();
if (!wrk.ok) throw new Error(`wrk is needed: ${wrk.why}`);
const command = await gatewayCommand(flags.binary === undefined ? {} : { binary: flags.binary });
const machine = describeMachine();
const loadBefore = loadavg()[0] as number;
const startedAt = performance.now();
const cells = new Map<string, Cell[]>();
const cellKey = (tokens: number, target: StreamTargetId) => `${tokens}:${target}`;

for (const tokens of TOKEN_COUNTS) {
  await withMockUpstream(tokens, "stream-memory", async (mockPort, dir) => {
    for (let round = 0; round < ROUNDS; round++) {
      for (const target of rotated(STREAM_TARGETS, round)) {
        const cell = await measureCell(target, tokens, mockPort, dir, command.argv);
        if (cell.failures > 0) throw new Error(`${STREAM_TARGET_NAME[target]} failed ${cell.failures} calls at ${tokens} tokens`);
        const list = cells.get(cellKey(tokens, target)) ?? [];
        list.push(cell);
        cells.set(cellKey(tokens, target), list);
        console.error(`${tokens} tokens, ${STREAM_TARGET_NAME[target]}: peak ${fixed(cell.peakMb, 1)} MB (file-backed ${fixed(cell.fileMb, 1)}), ${fixed(cell.rps, 0)} streams/s`);
      }
    }
  });
}

const median = (tokens: number, target: StreamTargetId, field: keyof Cell): number => summarize((cells.get(cellKey(tokens, target)) ?? []).map((cell) => cell[field])).median;
const each = (tokens: number, target: StreamTargetId): string => (cells.get(cellKey(tokens, target)) ?? []).map((cell) => fixed(cell.peakMb, 1)).join(", ");

const lines: string[] = runHeaderLines({ machine, gateway: command, loadBefore, startedAt, command: COMMAND });
lines.push("");
lines.push(`Peak RSS (VmHWM, MB; median of ${ROUNDS} fresh processes per cell, each listed) under OpenAI streams through a ${UPSTREAM_LATENCY_MS} ms upstream at ${CONNECTIONS} connections,`);
lines.push("the comparison's heaviest streamed load, by the answer's length. Streams per second in brackets.");
lines.push("");
lines.push(`| tokens per answer | ${STREAM_TARGETS.map((target) => STREAM_TARGET_NAME[target]).join(" | ")} | relay − floor | Tollgate − relay |`);
lines.push(`|---:|${STREAM_TARGETS.map(() => "---:").join("|")}|---:|---:|`);
for (const tokens of TOKEN_COUNTS) {
  const row = STREAM_TARGETS.map((target) => `${fixed(median(tokens, target, "peakMb"), 1)} (${each(tokens, target)}) [${fixed(median(tokens, target, "rps"), 0)}]`);
  const relayCost = median(tokens, "relay", "peakMb") - median(tokens, "floor", "peakMb");
  const ownCost = median(tokens, "tollgate", "peakMb") - median(tokens, "relay", "peakMb");
  lines.push(`| ${tokens} | ${row.join(" | ")} | ${relayCost >= 0 ? "+" : ""}${fixed(relayCost, 1)} | ${ownCost >= 0 ? "+" : ""}${fixed(ownCost, 1)} |`);
}
lines.push("");
lines.push("File-backed RSS at the end of each run (the executable's and libraries' own pages; median MB): " +
  STREAM_TARGETS.map((target) => `${STREAM_TARGET_NAME[target]} ${TOKEN_COUNTS.map((tokens) => fixed(median(tokens, target, "fileMb"), 1)).join(" / ")}`).join("; ") + ` (${TOKEN_COUNTS.join(" / ")} tokens).`);
lines.push("");
lines.push("The bench upstream writes each answer 16 events at a time as fast as the socket takes them, so a stream's");
lines.push("bytes arrive within a few reads: the memory a relay holds per stream grows with the answer's length. The");
lines.push("floor hands the body to Bun's server natively; the JavaScript relay reads each chunk and enqueues it again,");
lines.push("which is the least a gateway that looks at its streams (usage, model id, errors) does; Tollgate adds its");
lines.push("whole feature path. The floor and the relay run from source (`bun`), Tollgate as the compiled binary.");

publishBenchSection(SECTION, lines.join("\n"), COMMAND, flags.write);
