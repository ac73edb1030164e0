/**
 * Billing overhead: throughput (32 connections) and latency (10 connections) of non-stream chat
 * completions against the mock, with billing on (real wallet, one SQLite file) and bypassed (a wallet
 * that admits everything and writes nothing), interleaved round by round in one run. Load comes from
 * `wrk` in its own process (installed with apt-get when missing; else a Bun closed-loop client).
 * Afterwards the billing-on database must pass `verifyLedger` with one charge per call served.
 * `--write` rewrites the "Billing overhead" section of docs/benchmarks.md.
 * Usage: bun bench/billing.ts [--write] [--rounds N] [--seconds S] [--warmup-seconds S] [--client wrk|bun]
 *        [--cpu-prof-dir DIR]   (a `bun --cpu-prof-md` profile of each gateway, written when it stops)
 */

import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { loadavg, tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { parseArgs } from "node:util";
import { verifyLedger } from "../src/billing/ledger.ts";
import { openDatabase } from "../src/db/client.ts";
import { writeBenchSection } from "./lib/benchmarks-doc.ts";
import { BENCH_MODEL } from "./lib/billing-gateway.ts";
import type { LoadReport } from "./lib/closed-loop-client.ts";
import { childEnv, cpuMs, raceTimeout, stopGateway } from "./lib/gateway-process.ts";
import { integerFlag } from "./lib/flags.ts";
import { describeMachine, machineLine } from "./lib/machine.ts";
import { fixed, summarize } from "./lib/stats.ts";
import { ensureWrk, wrkVersion } from "./lib/wrk.ts";

const ROOT = join(import.meta.dir, "..");
const SECTION = "Billing overhead";
const COMMAND = "bun bench/billing.ts --write";
const TARGET_THROUGHPUT_COST = 0.15;
const TARGET_ADDED_P99_MS = 2;
const THROUGHPUT_CONNECTIONS = 32;
const LATENCY_CONNECTIONS = 10;
const BODY = JSON.stringify({ model: BENCH_MODEL, max_tokens: 16, messages: [{ role: "user", content: "Say hello in five words." }] });

const { values: flags } = parseArgs({
  args: process.argv.slice(2),
  options: {
    write: { type: "boolean", default: false },
    rounds: { type: "string", default: "5" },
    seconds: { type: "string", default: "3" },
    "warmup-seconds": { type: "string", default: "2" },
    /** Force a load generator; by default wrk, installed if missing, else the Bun client. */
    client: { type: "string" },
    /** Profile both gateways (`bun --cpu-prof-md`) into this folder; profiling slows them, so not for figures. */
    "cpu-prof-dir": { type: "string" },
  },
  strict: true,
});

function positiveInt(name: string, text: string): number {
  return integerFlag(name, text, 1, 600);
}

// wrk takes whole seconds.
const ROUNDS = positiveInt("rounds", flags.rounds);
const SECONDS = positiveInt("seconds", flags.seconds);
const WARMUP_SECONDS = positiveInt("warmup-seconds", flags["warmup-seconds"]);

type Mode = "on" | "bypass";
type Client = { kind: "wrk"; script: string } | { kind: "bun"; why: string };

// ---------------------------------------------------------------------------------------------------------
// Load generator

/** wrk's Lua: the POST, the key from the arguments after `--`, and its figures as one JSON line. */
const WRK_SCRIPT = `
wrk.method = "POST"
wrk.body = ${JSON.stringify(BODY)}
wrk.headers["Content-Type"] = "application/json"

function init(args)
  wrk.headers["Authorization"] = "Bearer " .. args[1]
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format('BENCH_JSON {"requests":%d,"durationUs":%d,"p50Us":%d,"p99Us":%d,"non2xx":%d,"errors":%d}\\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99), e.status,
    e.connect + e.read + e.write + e.timeout))
end
`;

function chooseClient(dir: string): Client {
  if (flags.client === "bun") return { kind: "bun", why: "--client bun" };
  if (flags.client !== undefined && flags.client !== "wrk") throw new Error(`--client expects wrk|bun, got '${flags.client}'`);
  const wrk = ensureWrk();
  if (!wrk.ok) {
    if (flags.client === "wrk") throw new Error(wrk.why);
    return { kind: "bun", why: wrk.why };
  }
  const script = join(dir, "chat.lua");
  writeFileSync(script, WRK_SCRIPT);
  return { kind: "wrk", script };
}

function describeClient(client: Client): string {
  if (client.kind === "wrk") {
    const version = wrkVersion();
    return `\`${version}\`, 1 thread, its own process`;
  }
  return `a Bun closed-loop client in its own process (**no wrk**: ${client.why}; it competes with the gateway for CPU)`;
}

async function runLoad(client: Client, baseUrl: string, key: string, connections: number, seconds: number): Promise<LoadReport> {
  const url = `${baseUrl}/v1/chat/completions`;
  const command =
    client.kind === "wrk"
      ? ["wrk", "-t1", `-c${connections}`, `-d${seconds}s`, "--timeout", "10s", "--latency", "-s", client.script, url, "--", key]
      : [
          "bun", join(import.meta.dir, "lib", "closed-loop-client.ts"), "--url", url, "--body", BODY,
          "--header", "content-type: application/json", "--header", `authorization: Bearer ${key}`,
          "--connections", String(connections), "--seconds", String(seconds),
        ];
  const child = Bun.spawn(command, { cwd: ROOT, env: childEnv(), stdout: "pipe", stderr: "pipe" });
  const timeout = setTimeout(() => child.kill("SIGKILL"), (seconds + 30) * 1000);
  const [stdout, stderr, exitCode] = await Promise.all([new Response(child.stdout).text(), new Response(child.stderr).text(), child.exited]);
  clearTimeout(timeout);
  const line = stdout.split("\n").find((text) => (client.kind === "wrk" ? text.startsWith("BENCH_JSON ") : text.startsWith("{")));
  if (exitCode !== 0 || !line) throw new Error(`${command[0]} exited ${exitCode}: ${stderr.trim() || stdout.trim()}`);
  const report = JSON.parse(line.replace(/^BENCH_JSON /, "")) as LoadReport;
  if (report.non2xx > 0 || report.errors > 0) throw new Error(`load run had ${report.non2xx} non-2xx answers and ${report.errors} socket errors`);
  if (report.requests === 0) throw new Error("load run completed no request");
  return report;
}

// ---------------------------------------------------------------------------------------------------------
// Gateways

interface Gateway {
  mode: Mode;
  child: Bun.Subprocess<"ignore", "pipe", Bun.BunFile>;
  baseUrl: string;
  key: string;
  db: string;
  lines: AsyncIterator<string>;
}

/** The child's stdout, line by line. */
async function* linesOf(stream: ReadableStream<Uint8Array>): AsyncGenerator<string> {
  const decoder = new TextDecoder();
  let buffered = "";
  for await (const chunk of stream) {
    buffered += decoder.decode(chunk, { stream: true });
    let newline = buffered.indexOf("\n");
    while (newline !== -1) {
      yield buffered.slice(0, newline);
      buffered = buffered.slice(newline + 1);
      newline = buffered.indexOf("\n");
    }
  }
  if (buffered !== "") yield buffered;
}

async function nextJsonLine<T>(gateway: Pick<Gateway, "lines" | "mode">, timeoutMs: number): Promise<T> {
  const next = await raceTimeout(gateway.lines.next(), timeoutMs, null);
  if (next === null || next.done) throw new Error(`the ${gateway.mode} gateway printed nothing within ${timeoutMs} ms`);
  return JSON.parse(next.value) as T;
}

async function startBillingGateway(mode: Mode, dir: string): Promise<Gateway> {
  const db = join(dir, `${mode}.db`);
  const profile = flags["cpu-prof-dir"] ? ["--cpu-prof-md", `--cpu-prof-dir=${resolve(flags["cpu-prof-dir"])}`, `--cpu-prof-name=billing-${mode}.md`] : [];
  const child = Bun.spawn(["bun", ...profile, join(import.meta.dir, "lib", "billing-gateway.ts"), "--mode", mode, "--db", db], {
    cwd: ROOT,
    env: childEnv(),
    stdin: "ignore",
    stdout: "pipe",
    // A file, not a pipe: a gateway logging errors under load must never block on a full pipe.
    stderr: Bun.file(join(dir, `${mode}.err`)),
  });
  const lines = linesOf(child.stdout)[Symbol.asyncIterator]();
  try {
    const ready = await nextJsonLine<{ port: number; key: string }>({ lines, mode }, 15_000);
    return { mode, child, baseUrl: `http://127.0.0.1:${ready.port}`, key: ready.key, db, lines };
  } catch (error) {
    child.kill("SIGKILL");
    await child.exited;
    throw new Error(`${error instanceof Error ? error.message : String(error)}\n${gatewayLog(dir, mode)}`);
  }
}

/** The end of a gateway's stderr, for error messages. */
function gatewayLog(dir: string, mode: Mode): string {
  try {
    return readFileSync(join(dir, `${mode}.err`), "utf8").slice(-2000);
  } catch {
    return "";
  }
}

/** SIGTERM; returns the calls it served (its last stdout line). */
async function stopBillingGateway(gateway: Gateway): Promise<number> {
  const served = nextJsonLine<{ served: number }>(gateway, 10_000);
  const code = await stopGateway(gateway.child);
  if (code !== 0) throw new Error(`the ${gateway.mode} gateway exited with ${code ?? "SIGKILL"} on SIGTERM`);
  return (await served).served;
}

// ---------------------------------------------------------------------------------------------------------
// Measurement

interface Run {
  rps: number;
  p50Ms: number;
  p99Ms: number;
  requests: number;
  /** Gateway CPU time per completed request (all threads), µs. */
  cpuUsPerRequest: number;
}

async function measureRun(client: Client, gateway: Gateway, connections: number, seconds: number): Promise<Run> {
  const cpuBefore = cpuMs(gateway.child.pid);
  let report: LoadReport;
  try {
    report = await runLoad(client, gateway.baseUrl, gateway.key, connections, seconds);
  } catch (error) {
    const log = gatewayLog(dirname(gateway.db), gateway.mode);
    throw new Error(`${error instanceof Error ? error.message : String(error)}${log ? `\nthe ${gateway.mode} gateway logged:\n${log}` : ""}`);
  }
  const cpuAfter = cpuMs(gateway.child.pid);
  return {
    rps: report.requests / (report.durationUs / 1e6),
    p50Ms: report.p50Us / 1000,
    p99Ms: report.p99Us / 1000,
    requests: report.requests,
    cpuUsPerRequest: ((cpuAfter - cpuBefore) * 1000) / report.requests,
  };
}

interface Pair {
  on: Run;
  bypass: Run;
}

interface Results {
  client: string;
  wrk: boolean;
  throughput: Pair[];
  latency: Pair[];
  /** Responses the client read from the billing-on gateway, warm-up included. */
  clientRequestsOn: number;
  servedOn: number;
  chargesOn: number;
  recordsOn: number;
  ledgerProblems: string[];
  recordsBypass: number;
  loadBefore: number;
  loadAfter: number;
}

async function measure(): Promise<Results> {
  const loadBefore = loadavg()[0] ?? Number.NaN;
  const dir = mkdtempSync(join(tmpdir(), "tollgate-bench-billing-"));
  const gateways: Gateway[] = [];
  try {
    const client = chooseClient(dir);
    const on = await startBillingGateway("on", dir);
    gateways.push(on);
    const bypass = await startBillingGateway("bypass", dir);
    gateways.push(bypass);
    const both = { on, bypass };
    let clientRequestsOn = 0;
    const run = async (mode: Mode, connections: number, seconds: number): Promise<Run> => {
      const result = await measureRun(client, both[mode], connections, seconds);
      if (mode === "on") clientRequestsOn += result.requests;
      return result;
    };

    // Warm-up: JIT, key cache, wallet cache, SQLite pages, for both scenarios and both gateways.
    for (const mode of ["on", "bypass"] as const) {
      await run(mode, THROUGHPUT_CONNECTIONS, WARMUP_SECONDS);
      await run(mode, LATENCY_CONNECTIONS, 1);
    }

    // Interleaved rounds; the order flips every round (on bypass | bypass on) so linear drift cancels.
    const throughput: Pair[] = [];
    const latency: Pair[] = [];
    for (let round = 0; round < ROUNDS; round++) {
      const order: Mode[] = round % 2 === 0 ? ["on", "bypass"] : ["bypass", "on"];
      for (const [pairs, connections] of [[throughput, THROUGHPUT_CONNECTIONS], [latency, LATENCY_CONNECTIONS]] as const) {
        const pair: Partial<Pair> = {};
        for (const mode of order) pair[mode] = await run(mode, connections, SECONDS);
        pairs.push(pair as Pair);
        console.error(
          `round ${round + 1}/${ROUNDS} c=${connections}: on ${fixed(pair.on?.rps ?? 0, 0)} req/s p99 ${fixed(pair.on?.p99Ms ?? 0, 2)} ms | bypass ${fixed(pair.bypass?.rps ?? 0, 0)} req/s p99 ${fixed(pair.bypass?.p99Ms ?? 0, 2)} ms`,
        );
      }
    }

    const servedOn = await stopBillingGateway(on);
    await stopBillingGateway(bypass);
    const check = openDatabase(on.db);
    const count = (sql: string) => (check.sqlite.query(sql).get() as { n: number }).n;
    let chargesOn: number;
    let recordsOn: number;
    let ledgerProblems: string[];
    try {
      ledgerProblems = verifyLedger(check.db).problems.map((item) => item.problem);
      chargesOn = count("select count(*) as n from ledger_entries where kind = 'charge'");
      recordsOn = count("select count(*) as n from requests where status = 'ok' and cost_microcents > 0");
    } finally {
      check.close();
    }
    const checkBypass = openDatabase(bypass.db);
    let recordsBypass: number;
    try {
      recordsBypass = (checkBypass.sqlite.query("select count(*) as n from requests").get() as { n: number }).n;
    } finally {
      checkBypass.close();
    }
    return {
      client: describeClient(client),
      wrk: client.kind === "wrk",
      throughput,
      latency,
      clientRequestsOn,
      servedOn,
      chargesOn,
      recordsOn,
      ledgerProblems,
      recordsBypass,
      loadBefore,
      loadAfter: loadavg()[0] ?? Number.NaN,
    };
  } finally {
    for (const gateway of gateways) if (gateway.child.exitCode === null) gateway.child.kill("SIGKILL");
    rmSync(dir, { recursive: true, force: true });
  }
}

// ---------------------------------------------------------------------------------------------------------
// Report

const median = (values: number[]) => summarize(values).median;

interface Figures {
  rpsOn: number;
  rpsBypass: number;
  /** Median over rounds of 1 − on/bypass (each round's pair measured back to back). */
  throughputCost: number;
  p50On: number;
  p50Bypass: number;
  p99On: number;
  p99Bypass: number;
  /** Median over rounds of on − bypass. */
  addedP50: number;
  addedP99: number;
  cpuOn: number;
  cpuBypass: number;
}

function figuresOf(results: Results): Figures {
  const t = results.throughput;
  const l = results.latency;
  return {
    rpsOn: median(t.map((pair) => pair.on.rps)),
    rpsBypass: median(t.map((pair) => pair.bypass.rps)),
    throughputCost: median(t.map((pair) => 1 - pair.on.rps / pair.bypass.rps)),
    p50On: median(l.map((pair) => pair.on.p50Ms)),
    p50Bypass: median(l.map((pair) => pair.bypass.p50Ms)),
    p99On: median(l.map((pair) => pair.on.p99Ms)),
    p99Bypass: median(l.map((pair) => pair.bypass.p99Ms)),
    addedP50: median(l.map((pair) => pair.on.p50Ms - pair.bypass.p50Ms)),
    addedP99: median(l.map((pair) => pair.on.p99Ms - pair.bypass.p99Ms)),
    cpuOn: median(t.map((pair) => pair.on.cpuUsPerRequest)),
    cpuBypass: median(t.map((pair) => pair.bypass.cpuUsPerRequest)),
  };
}

function verdict(met: boolean): string {
  return met ? "met" : "**missed**";
}

function correct(results: Results): boolean {
  return (
    results.ledgerProblems.length === 0 &&
    results.chargesOn === results.servedOn &&
    results.recordsOn === results.servedOn &&
    results.servedOn >= results.clientRequestsOn &&
    results.recordsBypass === 0
  );
}

function signed(value: number, digits: number): string {
  return `${value >= 0 ? "+" : "−"}${fixed(Math.abs(value), digits)}`;
}

function report(results: Results): string {
  const f = figuresOf(results);
  const costMet = f.throughputCost < TARGET_THROUGHPUT_COST;
  const p99Met = f.addedP99 < TARGET_ADDED_P99_MS;
  const perRound = (pairs: Pair[], pick: (run: Run) => number, digits: number) =>
    pairs.map((pair) => `${fixed(pick(pair.on), digits)}/${fixed(pick(pair.bypass), digits)}`).join(", ");
  const cpus = describeMachine().cpus;
  const lines = [
    `Measured ${machineLine(describeMachine())}; gateway from source (\`bun bench/lib/billing-gateway.ts\`), load from ${results.client};`,
    `1-minute load average ${fixed(results.loadBefore, 2)} before, ${fixed(results.loadAfter, 2)} after. Reproduce: \`${COMMAND}\`.`,
    "",
    `| measurement | billing on | billing bypassed | billing's cost | target |`,
    `|---|---:|---:|---:|---|`,
    `| throughput, ${THROUGHPUT_CONNECTIONS} connections | ${fixed(f.rpsOn, 0)} req/s | ${fixed(f.rpsBypass, 0)} req/s | ${fixed(f.throughputCost * 100)} % | < ${TARGET_THROUGHPUT_COST * 100} % (${verdict(costMet)}) |`,
    `| latency p50, ${LATENCY_CONNECTIONS} connections | ${fixed(f.p50On, 2)} ms | ${fixed(f.p50Bypass, 2)} ms | ${signed(f.addedP50, 2)} ms | — |`,
    `| latency p99, ${LATENCY_CONNECTIONS} connections | ${fixed(f.p99On, 2)} ms | ${fixed(f.p99Bypass, 2)} ms | ${signed(f.addedP99, 2)} ms | < ${TARGET_ADDED_P99_MS} ms added (${verdict(p99Met)}) |`,
    `| gateway CPU per call (throughput runs) | ${fixed(f.cpuOn, 0)} µs | ${fixed(f.cpuBypass, 0)} µs | ${signed(f.cpuOn - f.cpuBypass, 0)} µs | — |`,
    "",
    `${ROUNDS} rounds of ${SECONDS} s per cell after a ${WARMUP_SECONDS} s warm-up, the two gateways alternating (on, bypass, then`,
    "bypass, on, …) in one run; figures are medians over rounds, and the cost and added latency are medians of",
    "each round's back-to-back pair (1 − on/bypass; on − bypass). Per round, on/bypass: throughput",
    `${perRound(results.throughput, (run) => run.rps, 0)} req/s; p99 ${perRound(results.latency, (run) => run.p99Ms, 2)} ms.`,
    "",
    "Non-stream `POST /v1/chat/completions` (max_tokens 16) to the mock provider with no delay, so the gateway",
    "itself is the bottleneck: both gateways run the same app (auth, key cache, decode, pipeline, encode); the",
    "bypassed one swaps only the wallet for one that grants every hold and writes nothing. With billing on, a",
    "call's request record and charge join a group commit (one SQLite transaction for the calls ending within",
    "10 ms, src/billing/group-commit.ts) written by a worker thread with its own connection",
    "(src/billing/settlement-thread.ts), which also runs SQLite's WAL checkpoints (every ~1,000 pages, copied and fsynced);",
    "the answer does not wait for the commit, the call's hold (set to its cost) lasts until it lands. The CPU figures count every thread.",
    "Profile both gateways with `--cpu-prof-dir DIR`. Latency is the",
    `${results.wrk ? "wrk" : "Bun client"} closed loop's (each connection sends its next call when the answer arrives), so it includes`,
    "queueing behind the other connections' calls.",
    "",
    `Correctness after the runs (database read after the gateway stopped): \`verifyLedger\` ${results.ledgerProblems.length === 0 ? "clean" : `found ${results.ledgerProblems.length} problems`};`,
    `${results.chargesOn} charge entries and ${results.recordsOn} billed request records for ${results.servedOn} calls the upstream answered`,
    `(the client read ${results.clientRequestsOn}; it stops without reading answers in flight); the bypassed database holds ${results.recordsBypass} records.`,
    correct(results) ? "" : "**The correctness check failed.**",
  ];
  // The bench's own load (gateway + wrk) shows in the average after; only the load before is someone else's.
  if (results.loadBefore >= cpus / 2) {
    lines.push(`**Caution:** the machine was busy before the run (load average ${fixed(results.loadBefore, 2)} on ${cpus} CPUs); absolute figures are depressed, the paired ratios less so.`);
  }
  return `${lines.join("\n").replace(/\n{3,}/g, "\n\n").trimEnd()}\n`;
}

const results = await measure();
const body = report(results);
console.log(`\n## ${SECTION}\n\n${body}`);
if (flags.write) {
  writeBenchSection(SECTION, body, COMMAND);
  console.error(`wrote the "${SECTION}" section of docs/benchmarks.md`);
}
if (!correct(results)) {
  for (const problem of results.ledgerProblems.slice(0, 10)) console.error(`ledger: ${problem}`);
  process.exit(1);
}
