/**
 * Cold start and memory of the compiled binary: time from spawn to the first 200 from /healthz, idle RSS,
 * and RSS after sequential chat completions to the mock provider. `--write` rewrites the "Cold start and
 * memory" section of docs/benchmarks.md. Usage: bun bench/cold-start.ts [--write] [--runs N] [--binary PATH]
 */

import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { loadavg, tmpdir } from "node:os";
import { join, relative } from "node:path";
import { parseArgs } from "node:util";
import { gatewayCommand } from "./lib/gateway-binary.ts";
import { publishBenchSection } from "./lib/benchmarks-doc.ts";
import { childEnv, cpuMs, msUntilHealthy, peakRssMb, rssMb, startGateway, stopGateway, type Started } from "./lib/gateway-process.ts";
import { describeMachine, machineLine } from "./lib/machine.ts";
import { fixed, summarize, type Summary } from "./lib/stats.ts";

const ROOT = join(import.meta.dir, "..");
const SECTION = "Cold start and memory";
const COMMAND = "bun bench/cold-start.ts --write";
const TARGET_COLD_START_MS = 150;
const TARGET_IDLE_RSS_MB = 80;
const IDLE_MS = 1_000;
const MODEL = "claude-sonnet-4-6";

const { values: flags } = parseArgs({
  args: process.argv.slice(2),
  options: {
    write: { type: "boolean", default: false },
    runs: { type: "string", default: "10" },
    "fresh-runs": { type: "string", default: "5" },
    "load-runs": { type: "string", default: "3" },
    calls: { type: "string", default: "200" },
    binary: { type: "string" },
  },
  strict: true,
});

function positiveInt(name: string, text: string): number {
  const value = Number(text);
  if (!Number.isInteger(value) || value < 1) throw new Error(`--${name} expects a positive integer, got '${text}'`);
  return value;
}

/**
 * The bench config: the shipped example (mock provider) with the starter tier's limits raised, so that
 * the sequential load measures memory rather than the rate limiter (60 requests/minute by default).
 */
function benchConfigToml(): string {
  const example = readFileSync(join(ROOT, "config.example.toml"), "utf8");
  const raised = example
    .replace(/^requests_per_minute = 60$/m, "requests_per_minute = 1_000_000")
    .replace(/^tokens_per_minute = 200_000$/m, "tokens_per_minute = 1_000_000_000");
  if (raised === example || !raised.includes("requests_per_minute = 1_000_000") || !raised.includes("tokens_per_minute = 1_000_000_000")) {
    throw new Error("config.example.toml changed: could not raise the starter tier's limits for the bench");
  }
  return raised;
}

function prepareDir(root: string, name: string): { dir: string; config: string } {
  const dir = join(root, name);
  mkdirSync(dir);
  const config = join(dir, "tollgate.toml");
  writeFileSync(config, benchConfigToml());
  return { dir, config };
}

function runCli(binary: string, cwd: string, args: string[]): { exitCode: number; stdout: string; stderr: string } {
  const result = Bun.spawnSync([binary, ...args], { cwd, env: childEnv(), stdout: "pipe", stderr: "pipe", timeout: 30_000 });
  return { exitCode: result.exitCode ?? -1, stdout: result.stdout.toString(), stderr: result.stderr.toString() };
}

/** Runs `body` against a started gateway and always stops it; a non-zero exit code is an error. */
async function withGateway<T>(binary: string, dir: string, config: string, body: (started: Started) => Promise<T>): Promise<T> {
  const started = await startGateway(binary, dir, config, join(dir, "serve.log"));
  let result: T;
  try {
    result = await body(started);
  } finally {
    const code = await stopGateway(started.child);
    if (code !== 0) console.error(`warning: gateway exited with ${code ?? "no code (SIGKILL after timeout)"} on SIGTERM`);
  }
  return result;
}

/** Times the spawn of `tollgate version` to its exit: the runtime's own start plus CLI dispatch. */
function timeVersion(binary: string, cwd: string): number {
  const startedAt = performance.now();
  const result = Bun.spawnSync([binary, "version"], { cwd, env: childEnv(), stdout: "ignore", stderr: "ignore", timeout: 10_000 });
  if (result.exitCode !== 0) throw new Error(`tollgate version exited ${result.exitCode}`);
  return performance.now() - startedAt;
}

async function chat(baseUrl: string, key: string, index: number): Promise<void> {
  const response = await fetch(`${baseUrl}/v1/chat/completions`, {
    method: "POST",
    headers: { authorization: `Bearer ${key}`, "content-type": "application/json" },
    body: JSON.stringify({ model: MODEL, messages: [{ role: "user", content: `hello number ${index}` }] }),
  });
  const text = await response.text();
  if (response.status !== 200) throw new Error(`chat completion ${index} answered ${response.status}: ${text.slice(0, 300)}`);
}

interface Results {
  binary: string;
  commit: string;
  sizeMb: number;
  version: Summary;
  fresh: Summary;
  steady: Summary;
  steadyCpu: Summary;
  firstChat: Summary;
  idleRss: Summary;
  calls: number;
  loadRss: Summary;
  loadPeakRss: Summary;
  msPerCall: Summary;
  /** 1-minute load average before and after: anything else running on the machine skews the figures. */
  loadBefore: number;
  loadAfter: number;
}

async function measure(binary: string): Promise<Results> {
  const runs = positiveInt("runs", flags.runs);
  const freshRuns = positiveInt("fresh-runs", flags["fresh-runs"]);
  const loadRuns = positiveInt("load-runs", flags["load-runs"]);
  const calls = positiveInt("calls", flags.calls);
  const loadBefore = loadavg()[0] ?? Number.NaN;
  const root = mkdtempSync(join(tmpdir(), "tollgate-bench-"));
  try {
    const versionInfo = runCli(binary, root, ["version", "--json"]);
    if (versionInfo.exitCode !== 0) throw new Error(`tollgate version failed: ${versionInfo.stderr}`);
    const commit = (JSON.parse(versionInfo.stdout) as { commit: string }).commit;

    const versionMs: number[] = [];
    for (let run = 0; run < runs; run++) versionMs.push(timeVersion(binary, root));

    // First-ever start: no database yet, so serve creates and migrates it.
    const freshMs: number[] = [];
    for (let run = 0; run < freshRuns; run++) {
      const { dir, config } = prepareDir(root, `fresh-${run}`);
      freshMs.push(await withGateway(binary, dir, config, (started) => msUntilHealthy(started)));
    }

    // Steady cold start: a fresh process on a database that `init` already created and migrated.
    const steady = prepareDir(root, "steady");
    const init = runCli(binary, steady.dir, ["init", "--config", steady.config, "--json"]);
    if (init.exitCode !== 0) throw new Error(`tollgate init failed: ${init.stderr}`);
    const key = (JSON.parse(init.stdout) as { inference_key: string }).inference_key;
    const steadyMs: number[] = [];
    const steadyCpuMs: number[] = [];
    const idleRss: number[] = [];
    for (let run = 0; run < runs; run++) {
      await withGateway(binary, steady.dir, steady.config, async (started) => {
        steadyMs.push(await msUntilHealthy(started));
        steadyCpuMs.push(cpuMs(started.child.pid));
        await Bun.sleep(IDLE_MS);
        idleRss.push(rssMb(started.child.pid));
      });
    }

    // What a client sees: the same cold start, then at once a first chat completion (the first call
    // also pays for code that /healthz does not reach: schema checks, key lookup, wallet, routing).
    const firstChatMs: number[] = [];
    for (let run = 0; run < runs; run++) {
      await withGateway(binary, steady.dir, steady.config, async (started) => {
        await msUntilHealthy(started);
        await chat(started.baseUrl, key, run);
        firstChatMs.push(performance.now() - started.spawnedAt);
      });
    }

    const loadRss: number[] = [];
    const loadPeak: number[] = [];
    const msPerCall: number[] = [];
    for (let run = 0; run < loadRuns; run++) {
      await withGateway(binary, steady.dir, steady.config, async (started) => {
        await msUntilHealthy(started);
        const startedAt = performance.now();
        for (let index = 0; index < calls; index++) await chat(started.baseUrl, key, index);
        msPerCall.push((performance.now() - startedAt) / calls);
        loadRss.push(rssMb(started.child.pid));
        loadPeak.push(peakRssMb(started.child.pid));
      });
    }
    const verify = runCli(binary, steady.dir, ["ledger", "verify", "--config", steady.config]);
    if (verify.exitCode !== 0) throw new Error(`ledger verify failed after the load: ${verify.stderr}`);

    return {
      binary,
      commit,
      sizeMb: statSync(binary).size / 1_048_576,
      version: summarize(versionMs),
      fresh: summarize(freshMs),
      steady: summarize(steadyMs),
      steadyCpu: summarize(steadyCpuMs),
      firstChat: summarize(firstChatMs),
      idleRss: summarize(idleRss),
      calls,
      loadRss: summarize(loadRss),
      loadPeakRss: summarize(loadPeak),
      msPerCall: summarize(msPerCall),
      loadBefore,
      loadAfter: loadavg()[0] ?? Number.NaN,
    };
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
}

function verdict(value: number, target: number): string {
  return value < target ? "met" : "**missed**";
}

function row(label: string, summary: Summary, unit: string, target: string): string {
  const cells = [summary.min, summary.median, summary.p90].map((value) => `${fixed(value)} ${unit}`);
  return `| ${label} | ${summary.count} | ${cells.join(" | ")} | ${target} |`;
}

/** A note when other work shared the CPUs: start times then measure the machine, not the gateway. */
function busyMachineNote(results: Results): string[] {
  const cpus = describeMachine().cpus;
  const busiest = Math.max(results.loadBefore, results.loadAfter);
  if (!(busiest >= cpus / 2)) return [];
  return [
    `**Caution:** the machine was busy (load average up to ${fixed(busiest, 2)} on ${cpus} CPUs); start times are`,
    "inflated by contention. Re-run on an idle machine for figures to compare.",
    "",
  ];
}

function renderMarkdown(results: Results): string {
  const steadyTarget = `< ${TARGET_COLD_START_MS} ms (median ${verdict(results.steady.median, TARGET_COLD_START_MS)})`;
  const rssTarget = `< ${TARGET_IDLE_RSS_MB} MB (median ${verdict(results.idleRss.median, TARGET_IDLE_RSS_MB)})`;
  return [
    `Measured ${machineLine(describeMachine())}; binary \`${relative(ROOT, results.binary) || results.binary}\``,
    `(${fixed(results.sizeMb)} MB, commit ${results.commit}); 1-minute load average ${fixed(results.loadBefore, 2)} before,`,
    `${fixed(results.loadAfter, 2)} after. Reproduce: \`${COMMAND}\`.`,
    "",
    ...busyMachineNote(results),
    "| measurement | runs | min | median | p90 | target |",
    "|---|---:|---:|---:|---:|---|",
    row("cold start: spawn → first 200 from `/healthz`, initialised database", results.steady, "ms", steadyTarget),
    row("CPU time (all threads) used by then", results.steadyCpu, "ms", "—"),
    row("first-ever start: same, creating and migrating a fresh database", results.fresh, "ms", "—"),
    row("spawn → first 200 from `/healthz`, then one chat completion", results.firstChat, "ms", "—"),
    row("`tollgate version`: spawn → exit (runtime start, no server)", results.version, "ms", "—"),
    row(`idle RSS, ${IDLE_MS / 1000} s after the first 200`, results.idleRss, "MB", rssTarget),
    row(`RSS after ${results.calls} sequential chat completions (mock)`, results.loadRss, "MB", "—"),
    row(`peak RSS (VmHWM) during those ${results.calls} calls`, results.loadPeakRss, "MB", "—"),
    row("mean latency per sequential call (client-observed)", results.msPerCall, "ms", "—"),
    "",
    "Each run is a fresh `tollgate serve` process in its own temporary directory on a config derived from",
    "`config.example.toml` (mock provider; rate limits raised so the load is not throttled). Start time is",
    "measured from just before the spawn to the first 200 from `/healthz`, polled every 2 ms over loopback;",
    "the binary is in the page cache after the first run. CPU time sums `/proc/<pid>/task/*/schedstat`, read",
    "just after the first 200; it moves less than wall time when other work shares the CPUs, but it moves.",
    "RSS is `VmRSS` from `/proc/<pid>/status` (MiB).",
    "",
  ].join("\n");
}

// dist/tollgate rebuilt when stale (another commit, or sources newer than it), as the other benches do.
const binary = (await gatewayCommand(flags.binary === undefined ? {} : { binary: flags.binary })).argv[0] ?? "";
const results = await measure(binary);
const markdown = renderMarkdown(results);
publishBenchSection(SECTION, markdown, COMMAND, flags.write);
