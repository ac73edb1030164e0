/**
 * Where the memory of a streaming gateway is, by allocator size class: the floor, a bare JavaScript relay
 * and Tollgate (bench/lib/stream-targets.ts), each a fresh process under the comparison's heaviest
 * streamed load (OpenAI streams of 256 tokens through a 50 ms upstream at 128 connections), dump Bun's
 * allocator statistics halfway through the measured run (bench/lib/mimalloc-dump.ts). Bun allocates
 * through mimalloc, JavaScriptCore's heap included, so the table splits what each process holds into
 * JavaScript heap blocks, small objects and the per-call buffers, and leaves the rest of the anonymous
 * RSS (free pages the allocator keeps, JIT code, thread stacks) as the gap between the two.
 * Usage: bun bench/allocator-profile.ts [--write] [--rounds N] [--seconds S] [--binary PATH]
 * `--write` rewrites the "Allocator profile" section of docs/benchmarks.md.
 */

import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { publishBenchSection } from "./lib/benchmarks-doc.ts";
import { gatewayCommand } from "./lib/gateway-binary.ts";
import { startPortPrinter, stopGateway } from "./lib/gateway-process.ts";
import { describeMachine, machineLine } from "./lib/machine.ts";
import { ALLOCATOR_DUMP_PRELOAD, dumpsIn, type MimallocBin, type MimallocDump, parseMimallocDump } from "./lib/mimalloc-dump.ts";
import { fixed, summarize } from "./lib/stats.ts";
import { CONNECTIONS, STREAM_TARGET_NAME, STREAM_TARGETS, startStreamTarget, type StreamTargetId, UPSTREAM_LATENCY_MS } from "./lib/stream-targets.ts";
import { ensureWrk, runWrk, writeWrkScript } from "./lib/wrk.ts";

const SECTION = "Allocator profile";
const COMMAND = "bun bench/allocator-profile.ts --write";
/** The comparison's answer length. */
const TOKENS = 256;
const MIB = 1024 * 1024;

const { values: flags } = parseArgs({
  args: process.argv.slice(2),
  options: {
    write: { type: "boolean", default: false },
    rounds: { type: "string", default: "2" },
    seconds: { type: "string", default: "4" },
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
const SECONDS = intIn("seconds", flags.seconds, 2, 60);

/** Size classes grouped by what holds them in these processes. */
const CATEGORIES = [
  { id: "jsHeap", label: "JavaScriptCore's heap blocks (16 KiB)", holds: (bin: MimallocBin) => bin.blockBytes === 16 * 1024 },
  { id: "small", label: "small objects, up to 1 KiB (strings, native objects)", holds: (bin: MimallocBin) => bin.blockBytes <= 1024 },
  { id: "mid", label: "1 to 14 KiB", holds: (bin: MimallocBin) => bin.blockBytes > 1024 && bin.blockBytes < 16 * 1024 },
  { id: "buffers", label: "32 to 64 KiB (a call's read and write buffers)", holds: (bin: MimallocBin) => bin.blockBytes >= 32 * 1024 && bin.blockBytes < 65 * 1024 },
] as const;
/** Buffer sizes whose blocks per call the table gives (mimalloc's bins of 32, 40, 48 and 64 KiB). */
const BUFFER_KIB = [32, 40, 48, 64] as const;

interface Cell {
  anonMb: number;
  fileMb: number;
  /** MB held in binned and huge blocks. */
  allocatedMb: number;
  /** MB by CATEGORIES id, and "other" for the rest. */
  byCategory: Record<string, number>;
  /** Blocks of each BUFFER_KIB size allocated per call served. */
  buffersPerCall: number[];
  rps: number;
  failures: number;
}

function statusKib(pid: number, field: string): number {
  const match = new RegExp(`^${field}:\\s+(\\d+) kB`, "m").exec(readFileSync(`/proc/${pid}/status`, "utf8"));
  if (!match) throw new Error(`/proc/${pid}/status has no ${field}`);
  return Number(match[1]);
}

/** The bin whose blocks hold `kib` KiB: mimalloc rounds a size up to its bin's (40 KiB → 40.1 KiB). */
function binOf(dump: MimallocDump, kib: number): MimallocBin | undefined {
  return dump.bins.find((bin) => bin.blockBytes >= kib * 1024 && bin.blockBytes < kib * 1024 * 1.02);
}

function summarizeDump(dump: MimallocDump, calls: number): Pick<Cell, "allocatedMb" | "byCategory" | "buffersPerCall"> {
  const byCategory: Record<string, number> = { other: 0 };
  for (const category of CATEGORIES) byCategory[category.id] = 0;
  for (const bin of dump.bins) {
    const category = CATEGORIES.find((candidate) => candidate.holds(bin));
    byCategory[category?.id ?? "other"] = (byCategory[category?.id ?? "other"] as number) + bin.currentBytes / MIB;
  }
  byCategory.other = (byCategory.other as number) + dump.hugeBytes / MIB;
  const buffersPerCall = BUFFER_KIB.map((kib) => (binOf(dump, kib)?.allocations ?? 0) / calls);
  return { allocatedMb: (dump.binnedBytes + dump.hugeBytes) / MIB, byCategory, buffersPerCall };
}

/** Waits for the target's stderr to hold a whole dump (its table ends with the "huge" total row). */
async function awaitDump(stderrPath: string): Promise<MimallocDump> {
  const deadline = performance.now() + 5_000;
  let lastError: unknown = null;
  while (performance.now() < deadline) {
    const dumps = existsSync(stderrPath) ? dumpsIn(readFileSync(stderrPath, "utf8")) : [];
    if (dumps.length > 0) {
      try {
        return parseMimallocDump(dumps[0] as string);
      } catch (error) {
        lastError = error; // still being written
      }
    }
    await Bun.sleep(50);
  }
  throw new Error(`no allocator dump in ${stderrPath} within 5 s${lastError instanceof Error ? `: ${lastError.message}` : ""}`);
}

/** One fresh process of `target`: a second's warm-up, then the measured run, dumped halfway through it. */
async function measureCell(target: StreamTargetId, mockPort: number, dir: string, tollgateArgv: string[]): Promise<Cell> {
  const started = await startStreamTarget(target, mockPort, dir, tollgateArgv, { extraEnv: { BUN_OPTIONS: `--preload ${ALLOCATOR_DUMP_PRELOAD}` }, captureStderr: true });
  try {
    if (started.stderrPath === null) throw new Error(`${STREAM_TARGET_NAME[target]}'s stderr is not kept`);
    const script = writeWrkScript(dir, target, started.request);
    const warm = await runWrk({ baseUrl: started.baseUrl, script, connections: CONNECTIONS, seconds: 1 });
    const measured = runWrk({ baseUrl: started.baseUrl, script, connections: CONNECTIONS, seconds: SECONDS });
    await Bun.sleep((SECONDS * 1000) / 2);
    const anonMb = statusKib(started.pid, "RssAnon") / 1024;
    const fileMb = statusKib(started.pid, "RssFile") / 1024;
    process.kill(started.pid, "SIGUSR2");
    const report = await measured;
    const dump = await awaitDump(started.stderrPath);
    // Calls served by the dump: the warm-up's and about half the measured run's.
    const calls = warm.requests + report.requests / 2;
    return { anonMb, fileMb, ...summarizeDump(dump, calls), rps: report.rps, failures: warm.non2xx + warm.socketErrors + report.non2xx + report.socketErrors };
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
const cells = new Map<StreamTargetId, Cell[]>();

const dir = mkdtempSync(join(tmpdir(), "tollgate-allocator-profile-"));
let mock: { child: Bun.Subprocess; port: number } | null = null;
try {
  mock = await startPortPrinter(["bun", join(import.meta.dir, "lib", "mock-upstream.ts"), "--tokens", String(TOKENS)], "the mock upstream");
  for (let round = 0; round < ROUNDS; round++) {
    // The first target turns each round, so no target is always measured first.
    const order = STREAM_TARGETS.map((_, index) => STREAM_TARGETS[(index + round) % STREAM_TARGETS.length] as StreamTargetId);
    for (const target of order) {
      const cell = await measureCell(target, mock.port, dir, command.argv);
      if (cell.failures > 0) throw new Error(`${STREAM_TARGET_NAME[target]} failed ${cell.failures} calls`);
      cells.set(target, [...(cells.get(target) ?? []), cell]);
      console.error(`${STREAM_TARGET_NAME[target]}: anonymous ${fixed(cell.anonMb, 1)} MB, allocated ${fixed(cell.allocatedMb, 1)} MB, ${fixed(cell.rps, 0)} streams/s`);
    }
  }
} finally {
  if (mock) await stopGateway(mock.child);
  rmSync(dir, { recursive: true, force: true });
}

const median = (target: StreamTargetId, pick: (cell: Cell) => number): number => summarize((cells.get(target) ?? []).map(pick)).median;
const row = (label: string, pick: (cell: Cell) => number, digits = 1): string => {
  const values = STREAM_TARGETS.map((target) => median(target, pick));
  const own = (values[2] as number) - (values[1] as number);
  return `| ${label} | ${values.map((value) => fixed(value, digits)).join(" | ")} | ${own >= 0 ? "+" : ""}${fixed(own, digits)} |`;
};

const lines: string[] = [];
lines.push(`Measured ${machineLine(machine)}; gateway ${command.label} (commit ${command.commit});`);
lines.push(`1-minute load average ${fixed(loadBefore, 2)} before, ${fixed(loadavg()[0] as number, 2)} after; ${fixed((performance.now() - startedAt) / 1000, 0)} s in all.`);
lines.push(`Reproduce: \`${COMMAND}\`.`);
lines.push("");
lines.push(`What each process holds halfway through ${SECONDS} s of OpenAI streams (${TOKENS} tokens) through a ${UPSTREAM_LATENCY_MS} ms upstream at ${CONNECTIONS} connections`);
lines.push(`(MB; median of ${ROUNDS} fresh processes each), from Bun's allocator statistics (\`Bun.unsafe.mimallocDump()\`, which JavaScriptCore's`);
lines.push("heap goes through too) and `/proc/<pid>/status` read at the same moment.");
lines.push("");
lines.push(`| | ${STREAM_TARGETS.map((target) => STREAM_TARGET_NAME[target]).join(" | ")} | Tollgate − relay |`);
lines.push(`|---|${STREAM_TARGETS.map(() => "---:").join("|")}|---:|`);
lines.push(row("anonymous RSS", (cell) => cell.anonMb));
lines.push(row("held in allocated blocks", (cell) => cell.allocatedMb));
for (const category of CATEGORIES) lines.push(row(`… ${category.label}`, (cell) => cell.byCategory[category.id] as number));
lines.push(row("… other sizes", (cell) => cell.byCategory.other as number));
lines.push(row("anonymous RSS not in allocated blocks (free pages the allocator keeps, JIT code, stacks)", (cell) => cell.anonMb - cell.allocatedMb));
lines.push(row("file-backed RSS (the executable's pages)", (cell) => cell.fileMb));
BUFFER_KIB.forEach((kib, index) => lines.push(row(`${kib} KiB blocks allocated per call`, (cell) => cell.buffersPerCall[index] as number, 2)));
lines.push(row("streams per second", (cell) => cell.rps, 0));
lines.push("");
lines.push("mimalloc merges each thread's counts into the totals at intervals, so a size class read alone can be a little off;");
lines.push("the per-call counts include the warm-up's calls and the start-up's allocations. The floor and the relay run from");
lines.push("source (`bun`), Tollgate as the compiled binary; all three with the memory options `tollgate serve` gives itself.");

publishBenchSection(SECTION, lines.join("\n"), COMMAND, flags.write);
