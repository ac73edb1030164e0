/**
 * The memory options `tollgate serve` gives itself (src/cli/runtime-tuning.ts), each group against the
 * runtime's own default, on two gateways serving the streamed scenarios of bench/lib/stream-bench.ts batch
 * for batch: CPU per request and memory of each.
 * Usage: bun bench/runtime-options.ts --allocator | --heap-growth | --jit [--write] [--rounds N] [--batch N]
 *        [--concurrency N] [--tokens N] [--binary PATH] [--against NAME=VALUE,…]
 * `--write` rewrites the group's section of docs/benchmarks.md ("Allocator options", "Heap growth", "JIT tiers").
 * `--against` sets the other gateway to an alternative of the group's (say, another purge setting) instead of the
 * runtime's default, to weigh a candidate against Tollgate's choice (the group's variables it leaves out take the
 * runtime's defaults); with `--write` it goes to its own section ("Allocator options: an alternative", …), whose
 * command repeats every flag given.
 */

import { loadavg } from "node:os";
import { parseArgs } from "node:util";
import { ALLOCATOR_ENV, HEAP_GROWTH_ENV, JIT_ENV } from "../src/cli/runtime-tuning.ts";
import { publishBenchSection } from "./lib/benchmarks-doc.ts";
import { integerFlag } from "./lib/flags.ts";
import { parseEnvAssignments, peakRssMb, rssMb } from "./lib/gateway-process.ts";
import { describeMachine, machineLine } from "./lib/machine.ts";
import { fixed } from "./lib/stats.ts";
import type { GatewayChoice } from "./lib/gateway-binary.ts";
import { ALL_SCENARIOS, DIALECT_NAME, type Gateway, measurePair, type PairRow, type StreamBenchSettings } from "./lib/stream-bench.ts";

interface OptionGroup {
  section: string;
  /** The runtime's defaults, set explicitly: `serve` keeps an operator's choice for that group and does not tune it. */
  defaults: Record<string, string>;
  tuned: Readonly<Record<string, string>>;
  /** Defaults for the load: what shows the group's effect. */
  load: { rounds: number; batch: number; concurrency: number; tokens: number };
  why: string[];
  price: string[];
}

type GroupId = "allocator" | "heap-growth" | "jit";

const GROUPS: Record<GroupId, OptionGroup> = {
  allocator: {
    section: "Allocator options",
    defaults: { MIMALLOC_PURGE_HOLES: "1", MIMALLOC_PURGE_DELAY: "100" },
    tuned: ALLOCATOR_ENV,
    load: { rounds: 12, batch: 100, concurrency: 4, tokens: 1000 },
    why: [
      "With Bun's defaults its allocator hands the free parts of large pages (buffers of 96 KiB and up) back to the OS between",
      "calls and purges freed pages after 100 ms, so every streamed answer faulted its buffers in again: `perf record` of the",
      "gateway put about half of its CPU in the kernel (page faults, page clearing, TLB flushes).",
    ],
    price: [
      "Freed memory still goes back to the OS, a second after it was freed instead of 100 ms; the price is a higher peak,",
      "since buffers freed less than a second ago are kept for reuse rather than returned and faulted in again.",
    ],
  },
  "heap-growth": {
    section: "Heap growth",
    // JavaScriptCore's defaults: a 16 GB threshold (its heap growth function then applies on this machine), factor 2.
    defaults: { BUN_JSC_heapGrowthFunctionThresholdInMB: "16384", BUN_JSC_smallHeapGrowthFactor: "2" },
    tuned: HEAP_GROWTH_ENV,
    load: { rounds: 30, batch: 320, concurrency: 32, tokens: 256 },
    why: [
      "On a machine with 16 GB of RAM or more JavaScriptCore sizes its next collection with a \"heap growth function\" that",
      "lets the heap reach up to four times what survived the last one; every request's native state (the fetch and server",
      "buffers and objects released when the GC collects their JavaScript wrappers) waits that much longer. With the",
      "function's RAM threshold out of reach JSC keeps its classic factors (twice the surviving heap while it is under a",
      "quarter of RAM, then 1.5×, then 1.24×), and Tollgate lowers the first to 1.75×. On a machine under 16 GB only that",
      "last factor differs.",
    ],
    price: [
      "More frequent collections of a smaller heap: the CPU columns show what they cost per request. JSC options are not a",
      "stable API (an unknown `BUN_JSC_` name stops the process at start), so `serve` sets this one only on the Bun release it",
      "was verified on (src/cli/runtime-tuning.ts; a test pins that release).",
    ],
  },
  jit: {
    section: "JIT tiers",
    defaults: { BUN_JSC_useFTLJIT: "1", BUN_JSC_useConcurrentJIT: "1" },
    tuned: JIT_ENV,
    load: { rounds: 20, batch: 320, concurrency: 32, tokens: 256 },
    why: [
      "JavaScriptCore compiles hot code in up to three tiers after its interpreter: baseline, DFG and FTL, on helper",
      "threads. An FTL compile allocates megabytes on its thread, which keeps them once idle, and maps in the FTL",
      "compiler's own code (a probe: parsing cl100k_base's `.tiktoken` file, as the tokenizer did before its compact file,",
      "took 12.5 MB of RSS with FTL, 8.7 MB without, 2.7 MB in the interpreter alone). With FTL off and the other tiers",
      "compiling on the thread that runs the code, what a compile allocates goes back to that thread's heap, which is busy",
      "and reuses it.",
    ],
    price: [
      "The gateway's hot path is many short calls, which the DFG tier serves: the CPU columns are the price, within this",
      "machine's noise. A baseline or DFG compile now runs on the JavaScript thread, mostly in the first seconds of traffic; the comparison's",
      "latency columns (section \"Comparison with the floor and a peer\") are measured with these options. JSC options are",
      "not a stable API, so `serve` sets them only on the Bun release they were verified on (src/cli/runtime-tuning.ts).",
    ],
  },
};

const { values: flags } = parseArgs({
  args: process.argv.slice(2),
  options: {
    allocator: { type: "boolean", default: false },
    "heap-growth": { type: "boolean", default: false },
    jit: { type: "boolean", default: false },
    write: { type: "boolean", default: false },
    rounds: { type: "string" },
    batch: { type: "string" },
    concurrency: { type: "string" },
    tokens: { type: "string" },
    binary: { type: "string" },
    against: { type: "string" },
  },
  strict: true,
});

const chosen = (["allocator", "heap-growth", "jit"] as const).filter((id) => flags[id]);
if (chosen.length !== 1) throw new Error("pass exactly one of --allocator, --heap-growth, --jit");
const GROUP_ID: GroupId = chosen[0] as GroupId;
const GROUP = GROUPS[GROUP_ID];

/** The other gateway's options: the runtime's defaults, or `--against`'s alternative. */
const OTHER: { name: string; env: Record<string, string> } = (() => {
  if (flags.against === undefined) return { name: "runtime's default", env: GROUP.defaults };
  const env = parseEnvAssignments("against", flags.against);
  // `serve` keeps an operator's values only for a group whose own variables they set; else it tunes itself.
  if (!Object.keys(GROUP.tuned).some((name) => name in env)) {
    throw new Error(`--against must set one of ${Object.keys(GROUP.tuned).join(", ")}: otherwise that gateway tunes itself like the other`);
  }
  return { name: "alternative", env };
})();

function positiveInt(name: string, text: string | undefined, fallback: number, max: number): number {
  return text === undefined ? fallback : integerFlag(name, text, 1, max);
}

const ROUNDS = positiveInt("rounds", flags.rounds, GROUP.load.rounds, 100);
const SETTINGS: StreamBenchSettings = {
  tokens: positiveInt("tokens", flags.tokens, GROUP.load.tokens, 100_000),
  paceMs: 0,
  batch: positiveInt("batch", flags.batch, GROUP.load.batch, 100_000),
  concurrency: positiveInt("concurrency", flags.concurrency, GROUP.load.concurrency, 1_024),
};
const CHOICE: GatewayChoice = flags.binary !== undefined ? { binary: flags.binary } : {};
const SECTION = flags.against === undefined ? GROUP.section : `${GROUP.section}: an alternative`;
/** What reproduces the section: the group's plain command, or every flag an alternative's run was given. */
const COMMAND =
  flags.against === undefined
    ? `bun bench/runtime-options.ts --${GROUP_ID} --write`
    : `bun bench/runtime-options.ts ${[...process.argv.slice(2).filter((arg) => arg !== "--write"), "--write"].join(" ")}`;
const IDLE_AFTER_LOAD_MS = 3000;

/** MB: VmRSS at the end of the load, VmHWM, and VmRSS after IDLE_AFTER_LOAD_MS of idling. */
interface Memory {
  rss: number;
  peak: number;
  rssIdle: number;
}

async function measure(): Promise<{ label: string; commit: string; rows: PairRow[]; memory: [Memory, Memory]; loadBefore: number; loadAfter: number; wallSeconds: number }> {
  const loadBefore = loadavg()[0] ?? Number.NaN;
  const startedAt = performance.now();
  // The tuned gateway must not inherit this group's options from the shell that runs the bench.
  for (const name of new Set([...Object.keys(GROUP.defaults), ...Object.keys(OTHER.env)])) delete process.env[name];
  return measurePair(SETTINGS, CHOICE, ALL_SCENARIOS, ROUNDS, [{ env: OTHER.env }, { env: {} }], async ({ command, rows, gateways }) => {
    const memoryOf = (gateway: Gateway): Memory => ({ rss: rssMb(gateway.started.child.pid), peak: peakRssMb(gateway.started.child.pid), rssIdle: Number.NaN });
    const memory: [Memory, Memory] = [memoryOf(gateways[0]), memoryOf(gateways[1])];
    // Freed memory goes back to the OS after the purge delay: idle for a moment, then read again.
    await Bun.sleep(IDLE_AFTER_LOAD_MS);
    memory[0].rssIdle = rssMb(gateways[0].started.child.pid);
    memory[1].rssIdle = rssMb(gateways[1].started.child.pid);
    return { label: command.label, commit: command.commit, rows, memory, loadBefore, loadAfter: loadavg()[0] ?? Number.NaN, wallSeconds: (performance.now() - startedAt) / 1000 };
  });
}

function percent(ratio: number): string {
  return `${ratio >= 0 ? "+" : "−"}${fixed(Math.abs(ratio) * 100)} %`;
}

const assignments = (env: Readonly<Record<string, string>>) => Object.entries(env).map(([name, value]) => `${name}=${value}`).join(" ");

function render(results: Awaited<ReturnType<typeof measure>>): string {
  const [other, tuned] = results.memory;
  const rounds = results.rows[0]?.other.count ?? 0;
  const change = (from: number, to: number) => `${to - from >= 0 ? "+" : "−"}${fixed(Math.abs(to - from), 1)}`;
  return [
    `Measured ${machineLine(describeMachine())}; gateway ${results.label} (commit ${results.commit});`,
    `1-minute load average ${fixed(results.loadBefore, 2)} before, ${fixed(results.loadAfter, 2)} after; ${fixed(results.wallSeconds, 0)} s in all.`,
    `Reproduce: \`${COMMAND}\`.`,
    "",
    `\`tollgate serve\` executes itself once at start (execve: same pid) with \`${assignments(GROUP.tuned)}\` unless the operator set`,
    "any variable of this group (src/cli/runtime-tuning.ts).",
    ...GROUP.why,
    `Two gateways, one given the ${OTHER.name === "alternative" ? "alternative" : "runtime's default explicitly"} (\`${assignments(OTHER.env)}\`) and one left to tune itself,`,
    "serve the streamed scenarios batch for batch (the first of each pair alternates by round):",
    "",
    `| client | upstream | path | ${OTHER.name}, CPU ms/request | Tollgate's option | change (medians) | per round: median (min to max) |`,
    "|---|---|---|---:|---:|---:|---:|",
    ...results.rows.map((row) => {
      const path = row.scenario.translated ? "translated" : "passthrough";
      const cells = [DIALECT_NAME[row.scenario.client], DIALECT_NAME[row.scenario.upstream], path, fixed(row.base.median, 2), fixed(row.other.median, 2)];
      return `| ${cells.join(" | ")} | **${percent(row.other.median / row.base.median - 1)}** | ${percent(row.paired.median)} (${percent(row.paired.min)} to ${percent(row.paired.max)}) |`;
    }),
    "",
    `| memory (MB) | ${OTHER.name} | Tollgate's option | change |`,
    "|---|---:|---:|---:|",
    `| VmRSS at the end of the load | ${fixed(other.rss, 1)} | ${fixed(tuned.rss, 1)} | ${change(other.rss, tuned.rss)} |`,
    `| VmHWM (peak) | ${fixed(other.peak, 1)} | ${fixed(tuned.peak, 1)} | ${change(other.peak, tuned.peak)} |`,
    `| VmRSS after ${IDLE_AFTER_LOAD_MS / 1000} s idle | ${fixed(other.rssIdle, 1)} | ${fixed(tuned.rssIdle, 1)} | ${change(other.rssIdle, tuned.rssIdle)} |`,
    "",
    ...GROUP.price,
    `${rounds} rounds after a warm-up round; ${SETTINGS.tokens}-token answers from \`bench/lib/stream-upstream.ts\` as fast as the sockets take them;`,
    `batches of ${SETTINGS.batch} requests, ${SETTINGS.concurrency} at a time; CPU from \`/proc/<pid>/task/*/schedstat\` around each batch (every thread).`,
    "",
  ].join("\n");
}

const markdown = render(await measure());
publishBenchSection(SECTION, markdown, COMMAND, flags.write);
