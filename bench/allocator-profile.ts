/**
 * Where the memory of a streaming gateway is, by allocator size class: the floor, a bare JavaScript relay
 * and Tollgate (bench/lib/stream-targets.ts; Tollgate also called by an Anthropic client, translating),
 * each a fresh process under the comparison's heaviest streamed load (streams of 256 tokens from an
 * OpenAI upstream with 50 ms latency, at 128 connections), dump Bun's allocator statistics halfway
 * through the measured run (bench/lib/mimalloc-dump.ts). Bun allocates
 * through mimalloc, JavaScriptCore's heap blocks included, so the table gives how much of each process's
 * anonymous RSS is in heap-sized blocks and small objects, and how many blocks of each larger size a call costs.
 * Usage: bun bench/allocator-profile.ts [--write] [--rounds N] [--seconds S] [--binary PATH]
 * `--write` rewrites the "Allocator profile" section of docs/benchmarks.md.
 */

import { existsSync, readFileSync } from "node:fs";
import { loadavg } from "node:os";
import { parseArgs } from "node:util";
import { publishBenchSection } from "./lib/benchmarks-doc.ts";
import { integerFlag } from "./lib/flags.ts";
import { gatewayCommand } from "./lib/gateway-binary.ts";
import { anonRssMb, fileRssMb } from "./lib/gateway-process.ts";
import { describeMachine } from "./lib/machine.ts";
import { ALLOCATOR_DUMP_PRELOAD, dumpsIn, type MimallocBin, type MimallocDump, parseMimallocDump } from "./lib/mimalloc-dump.ts";
import { fixed, summarize } from "./lib/stats.ts";
import { CONNECTIONS, rotated, runHeaderLines, STREAM_TARGET_NAME, startStreamTarget, type StreamTargetId, UPSTREAM_LATENCY_MS, withMockUpstream } from "./lib/stream-targets.ts";
import { ensureWrk, runWrk, writeWrkScript } from "./lib/wrk.ts";

const SECTION = "Allocator profile";
const COMMAND = "bun bench/allocator-profile.ts --write";
/** The comparison's answer length. */
const TOKENS = 256;
const MIB = 1024 * 1024;

/** The table's columns: each target, and Tollgate again as an Anthropic client's gateway (translating the streams). */
const COLUMNS = [
  { id: "floor", target: "floor", anthropicClient: false, name: STREAM_TARGET_NAME.floor },
  { id: "relay", target: "relay", anthropicClient: false, name: STREAM_TARGET_NAME.relay },
  { id: "tollgate", target: "tollgate", anthropicClient: false, name: STREAM_TARGET_NAME.tollgate },
  { id: "translated", target: "tollgate", anthropicClient: true, name: "Tollgate, Anthropic client (translated)" },
] as const satisfies readonly { id: string; target: StreamTargetId; anthropicClient: boolean; name: string }[];
type Column = (typeof COLUMNS)[number];

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

const ROUNDS = integerFlag("rounds", flags.rounds, 1, 10);
const SECONDS = integerFlag("seconds", flags.seconds, 2, 60);

/**
 * Size classes the JavaScript thread mostly allocates and frees, whose bytes held the table gives. mimalloc
 * adds each thread's counts to the process's at intervals, so sizes that several threads share (a call's
 * buffers: Bun's fetch thread fills what the JavaScript thread frees) can read far off, even below zero:
 * those are counted per call instead (BUFFER_KIB). The 16 KiB class holds JavaScriptCore's heap blocks,
 * and whatever else has that size (a relay allocates one such block per call).
 */
const CATEGORIES = [
  { id: "heapBlocks", label: "blocks of 16 KiB (the size of JavaScriptCore's heap blocks)", holds: (bin: MimallocBin) => bin.blockBytes === 16 * 1024 },
  { id: "small", label: "objects up to 1 KiB (strings' characters, native objects)", holds: (bin: MimallocBin) => bin.blockBytes <= 1024 },
  { id: "mid", label: "objects of 1 to 14 KiB", holds: (bin: MimallocBin) => bin.blockBytes > 1024 && bin.blockBytes < 16 * 1024 },
] as const;
/** Block sizes whose allocations per call the table gives (mimalloc's bins, rounded down): heap blocks, a call's read and write buffers. */
const BUFFER_KIB = [16, 24, 32, 40, 48, 64] as const;

interface Cell {
  anonMb: number;
  fileMb: number;
  /** MB held, by CATEGORIES id. */
  byCategory: Record<string, number>;
  /** Blocks of each BUFFER_KIB size allocated per call served. */
  buffersPerCall: number[];
  rps: number;
}

/** The bin whose blocks hold `kib` KiB: mimalloc rounds a size up to its bin's (40 KiB → 40.1 KiB). */
function binOf(dump: MimallocDump, kib: number): MimallocBin | undefined {
  return dump.bins.find((bin) => bin.blockBytes >= kib * 1024 && bin.blockBytes < kib * 1024 * 1.02);
}

function summarizeDump(dump: MimallocDump, calls: number): Pick<Cell, "byCategory" | "buffersPerCall"> {
  const byCategory: Record<string, number> = {};
  for (const category of CATEGORIES) {
    byCategory[category.id] = dump.bins.filter((bin) => category.holds(bin)).reduce((sum, bin) => sum + bin.currentBytes, 0) / MIB;
  }
  const buffersPerCall = BUFFER_KIB.map((kib) => (binOf(dump, kib)?.allocations ?? 0) / calls);
  return { byCategory, buffersPerCall };
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

/** One fresh process of the column's target: a second's warm-up, then the measured run, dumped halfway through it. */
async function measureCell(column: Column, mockPort: number, dir: string, tollgateArgv: string[]): Promise<Cell> {
  const started = await startStreamTarget(column.target, mockPort, dir, tollgateArgv, {
    extraEnv: { BUN_OPTIONS: `--preload ${ALLOCATOR_DUMP_PRELOAD}` },
    captureStderr: true,
    anthropicClient: column.anthropicClient,
  });
  try {
    if (started.stderrPath === null) throw new Error(`${column.name}'s stderr is not kept`);
    const script = writeWrkScript(dir, column.id, started.request);
    const warm = await runWrk({ baseUrl: started.baseUrl, script, connections: CONNECTIONS, seconds: 1 });
    const measured = runWrk({ baseUrl: started.baseUrl, script, connections: CONNECTIONS, seconds: SECONDS });
    // Awaited below; a failure before that must not go unhandled meanwhile.
    measured.catch(() => {});
    await Bun.sleep((SECONDS * 1000) / 2);
    const anonMb = anonRssMb(started.pid);
    const fileMb = fileRssMb(started.pid);
    process.kill(started.pid, "SIGUSR2");
    const report = await measured;
    const dump = await awaitDump(started.stderrPath);
    // Calls served by the dump: the warm-up's and about half the measured run's.
    const calls = warm.requests + report.requests / 2;
    // runWrk has already thrown on any failed call.
    return { anonMb, fileMb, ...summarizeDump(dump, calls), rps: report.rps };
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
const cells = new Map<Column["id"], Cell[]>();

await withMockUpstream(TOKENS, "allocator-profile", async (mockPort, dir) => {
  for (let round = 0; round < ROUNDS; round++) {
    for (const column of rotated(COLUMNS, round)) {
      const cell = await measureCell(column, mockPort, dir, command.argv);
      cells.set(column.id, [...(cells.get(column.id) ?? []), cell]);
      console.error(`${column.name}: anonymous ${fixed(cell.anonMb, 1)} MB, in 16 KiB blocks ${fixed(cell.byCategory.heapBlocks as number, 1)} MB, ${fixed(cell.rps, 0)} streams/s`);
    }
  }
});

const median = (id: Column["id"], pick: (cell: Cell) => number): number => summarize((cells.get(id) ?? []).map(pick)).median;
/** A difference with its sign, "−0.00" printed as "+0.00". */
function signed(value: number, digits: number): string {
  const text = fixed(value, digits);
  return Number(text) < 0 ? text : `+${text.replace(/^-/, "")}`;
}
const row = (label: string, pick: (cell: Cell) => number, digits = 1): string => {
  const own = median("tollgate", pick) - median("relay", pick);
  return `| ${label} | ${COLUMNS.map((column) => fixed(median(column.id, pick), digits)).join(" | ")} | ${signed(own, digits)} |`;
};

const lines: string[] = runHeaderLines({ machine, gateway: command, loadBefore, startedAt, command: COMMAND });
lines.push("");
lines.push(`What each process holds halfway through ${SECONDS} s of streams of ${TOKENS} tokens from an OpenAI upstream with ${UPSTREAM_LATENCY_MS} ms latency, at ${CONNECTIONS} connections`);
lines.push(`(MB; median of ${ROUNDS} fresh processes each), from Bun's allocator statistics (\`Bun.unsafe.mimallocDump()\`, which JavaScriptCore's`);
lines.push("heap goes through too) and `/proc/<pid>/status` read at the same moment.");
lines.push("");
lines.push(`| | ${COLUMNS.map((column) => column.name).join(" | ")} | Tollgate − relay |`);
lines.push(`|---|${COLUMNS.map(() => "---:").join("|")}|---:|`);
lines.push(row("anonymous RSS", (cell) => cell.anonMb));
for (const category of CATEGORIES) lines.push(row(`… ${category.label}`, (cell) => cell.byCategory[category.id] as number));
const attributed = (cell: Cell): number => CATEGORIES.reduce((sum, category) => sum + (cell.byCategory[category.id] as number), 0);
lines.push(row("… the rest: a call's buffers, other sizes, free pages the allocator keeps, JIT code, stacks", (cell) => cell.anonMb - attributed(cell)));
lines.push(row("file-backed RSS (the executable's pages)", (cell) => cell.fileMb));
BUFFER_KIB.forEach((kib, index) => lines.push(row(`${kib} KiB blocks allocated per call`, (cell) => cell.buffersPerCall[index] as number, 2)));
lines.push(row("streams per second", (cell) => cell.rps, 0));
lines.push("");
lines.push("mimalloc adds each thread's counts to the process's at intervals, so the bytes held are given only for sizes the");
lines.push("JavaScript thread allocates and frees itself; a call's buffers (Bun's fetch thread fills what the JavaScript thread");
lines.push("frees) are counted per call, the warm-up's calls and the start-up's allocations included. The 16 KiB class holds");
lines.push("JavaScriptCore's heap blocks and anything else of that size (the relay's one such block per call). The floor and the relay run from");
lines.push("source (`bun`), Tollgate as the compiled binary; all with the memory options `tollgate serve` gives itself. The");
lines.push("translated column is Tollgate again, called through the Messages API: it turns the same OpenAI streams into");
lines.push("Anthropic events, and counts the input with its tokenizer for `message_start`.");

publishBenchSection(SECTION, lines.join("\n"), COMMAND, flags.write);
