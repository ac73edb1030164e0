/**
 * What Tollgate costs a request, side by side with the floor and a peer (issue 6). Every scenario is
 * measured against four targets, interleaved round by round (A B C D, then D C B A) in one run:
 *
 * - direct: the client straight to the mock upstream (bench/lib/mock-upstream.ts, its own process);
 * - floor: a bare Bun.serve + fetch passthrough (bench/lib/floor-proxy.ts): nothing built on Bun beats it;
 * - Tollgate: the compiled binary with the whole path on (key auth, rate limiter, wallet hold, settle,
 *   ledger write, request record, a real SQLite file);
 * - Portkey: `@portkey-ai/gateway` on Node (bench/lib/portkey.ts), on the scenarios it supports.
 *
 * Load comes from wrk (bench/lib/wrk.ts; installed with apt-get when missing), time to first byte from a
 * Bun client at concurrency 1 in its own process (bench/lib/ttfb-client.ts). Then a CPU profile of
 * Tollgate (from source, `bun --cpu-prof`) under two scenarios. Only 127.0.0.1; every loop bounded.
 * `--write` rewrites the "Comparison with the floor and a peer" section of docs/benchmarks.md.
 * Usage: bun bench/compare.ts [--write] [--rounds N] [--slow-rounds N] [--latency-rounds N] [--seconds S] [--latency-seconds S] [--ttfb-calls N]
 *        [--skip-portkey] [--skip-profile] [--profile-dir DIR] [--only-profile] [--binary PATH]
 *        [--only IDS] [--gateway-env NAME=VALUE,…]
 */

import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { loadavg, tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { RUNTIME_ENV } from "../src/cli/runtime-tuning.ts";
import { type Cell, type Measured, profileLines, report, type ScenarioResult, type TargetRounds } from "./compare/report.ts";
import { checkOnce, type Endpoints, requestFor, type Scenario, scenarios, supports, type TargetId, type TargetRequest } from "./compare/scenarios.ts";
import {
  COLD_STARTS,
  COMMAND,
  CONNECTIONS,
  flags,
  GATEWAY_ENV,
  LATENCY_SECONDS,
  MODEL_FAST,
  MODEL_SLOW,
  PROFILE_SECONDS,
  ROOT,
  LATENCY_ROUNDS,
  SECTION,
  SLOW_MS,
  TOKENS,
  WARMUP_SECONDS,
} from "./compare/settings.ts";
import { writeBenchSection } from "./lib/benchmarks-doc.ts";
import { modelToml, providerToml, UNLIMITED_TIER_TOML } from "./lib/bench-config.ts";
import { gatewayCommand } from "./lib/gateway-binary.ts";
import { summarizeProfile, type CpuProfile, type ProfileResult } from "./lib/cpu-profile.ts";
import { childEnv, cpuMsByThread, fileRssMb, msUntilHealthy, peakRssMb, rssMb, runCliOutput, startGateway, startPortPrinter, stopGateway, untilQuiet, type Started } from "./lib/gateway-process.ts";
import { ensurePortkey, PORTKEY_DIR, startPortkey, type PortkeyInstall } from "./lib/portkey.ts";
import { fixed } from "./lib/stats.ts";
import type { TtfbReport, TtfbSpec, TtfbTarget } from "./lib/ttfb-client.ts";
import { ensureWrk, runWrk, wrkVersion, writeWrkScript, type WrkReport } from "./lib/wrk.ts";


// ---------------------------------------------------------------------------------------------------
// Processes

const started: Bun.Subprocess[] = [];

/** A bench process that prints its port (bench/lib/gateway-process.ts), stopped with the run whatever happens. */
async function startTracked(argv: string[], label: string, env?: Record<string, string>): Promise<{ child: Bun.Subprocess; port: number }> {
  const running = await startPortPrinter(argv, label, { cwd: ROOT, ...(env === undefined ? {} : { env }) });
  started.push(running.child);
  return running;
}

/** dist/tollgate (built when stale), or --binary, and the commit it was built from. */
async function tollgateBinary(): Promise<{ binary: string; commit: string }> {
  const command = await gatewayCommand(flags.binary !== undefined ? { binary: flags.binary } : {});
  return { binary: command.argv[0] ?? "", commit: command.commit };
}

/** One OpenAI-kind provider per upstream latency, one model on each; limits on but far above the load. */
function tollgateConfigToml(mockPort: number): string {
  const model = (id: string, provider: string) => modelToml({ id, provider, upstreamModel: "mock-upstream-model", maxOutputTokens: 4096, outputUsdPerMtok: 2 });
  return [
    '[server]\ndatabase = "./tollgate.db"\n',
    UNLIMITED_TIER_TOML,
    providerToml("up-openai", "openai", `http://127.0.0.1:${mockPort}/v1`),
    providerToml("up-openai-slow", "openai", `http://127.0.0.1:${mockPort}/latency-${SLOW_MS}/v1`),
    model(MODEL_FAST, "up-openai"),
    model(MODEL_SLOW, "up-openai-slow"),
  ].join("");
}

// ---------------------------------------------------------------------------------------------------
// Measurement

function cell(report: WrkReport, cpuBefore: Record<string, number> | null, cpuAfter: Record<string, number> | null): Cell {
  let byThread: Record<string, number> | null = null;
  if (cpuBefore && cpuAfter) {
    byThread = {};
    for (const [group, ms] of Object.entries(cpuAfter)) byThread[group] = ((ms - (cpuBefore[group] ?? 0)) * 1000) / report.requests;
  }
  return {
    rps: report.rps,
    p50Ms: report.p50Us / 1000,
    p99Ms: report.p99Us / 1000,
    cpuUsPerCall: byThread === null ? null : Object.values(byThread).reduce((sum, us) => sum + us, 0),
    cpuUsPerCallByThread: byThread,
  };
}

async function runTtfb(dir: string, scenario: Scenario, calls: Record<TargetId, TargetRequest | null>, targets: TargetId[]): Promise<TtfbReport> {
  const ttfbTargets: TtfbTarget[] = targets.map((target) => {
    const call = calls[target];
    if (!call) throw new Error(`no call for ${target}`);
    return { name: target, url: `${call.baseUrl}${call.request.path}`, headers: call.request.headers, body: call.request.body ?? "", endsWith: scenario.client === "openai" ? "data: [DONE]" : "event: message_stop" };
  });
  const spec: TtfbSpec = { targets: ttfbTargets, calls: scenario.ttfbCalls, warmup: 3 };
  const specPath = join(dir, `ttfb-${scenario.id}.json`);
  writeFileSync(specPath, JSON.stringify(spec));
  const child = Bun.spawn(["bun", join(import.meta.dir, "lib", "ttfb-client.ts"), specPath], { cwd: ROOT, env: childEnv(), stdout: "pipe", stderr: "pipe" });
  const killer = setTimeout(() => child.kill("SIGKILL"), 120_000);
  const [stdout, stderr, code] = await Promise.all([new Response(child.stdout).text(), new Response(child.stderr).text(), child.exited]);
  clearTimeout(killer);
  if (code !== 0) throw new Error(`ttfb client for ${scenario.title} exited ${code}: ${stderr.trim().slice(0, 500)}`);
  return JSON.parse(stdout.trim().split("\n").at(-1) ?? "{}") as TtfbReport;
}

async function measureScenario(dir: string, scenario: Scenario, endpoints: Endpoints, pids: Partial<Record<TargetId, number>>, onTollgateCalls: (count: number) => void): Promise<ScenarioResult> {
  const targets = (["direct", "floor", "tollgate", "portkey"] as const).filter((target) => supports(target, scenario) && (target !== "portkey" || endpoints.portkeyUrl !== null));
  const calls: Record<TargetId, TargetRequest | null> = { direct: null, floor: null, tollgate: null, portkey: null };
  const scripts: Partial<Record<TargetId, string>> = {};
  for (const target of targets) {
    const call = requestFor(target, scenario, endpoints);
    calls[target] = call;
    await checkOnce(target, scenario, call);
    scripts[target] = writeWrkScript(dir, `${scenario.id}-${target}`, call.request);
  }
  const run = async (target: TargetId, connections: number, seconds: number): Promise<Cell> => {
    const call = calls[target];
    const script = scripts[target];
    if (!call || !script) throw new Error(`no call for ${target}`);
    const pid = target === "direct" ? undefined : pids[target];
    const before = pid === undefined ? null : cpuMsByThread(pid);
    const report = await runWrk({ baseUrl: call.baseUrl, script, connections, seconds });
    // What the load left behind (the last settlements, a collection) counts in this cell, and stays out of
    // the next target's (Portkey's after-load work: up to ~50 ms of CPU over ~70 ms, probe).
    if (pid !== undefined) await untilQuiet(pid);
    const after = pid === undefined ? null : cpuMsByThread(pid);
    if (target === "tollgate") onTollgateCalls(report.requests);
    return cell(report, before, after);
  };

  for (const target of targets) {
    if (scenario.warmup === "all" || (scenario.warmup === "gateways" && (target === "tollgate" || target === "portkey"))) await run(target, scenario.connections, WARMUP_SECONDS);
  }
  const rounds: Partial<Record<TargetId, TargetRounds>> = {};
  for (const target of targets) rounds[target] = { throughput: [], concurrencyOne: [] };
  for (let round = 0; round < scenario.rounds; round++) {
    const order = round % 2 === 0 ? targets : [...targets].reverse();
    for (const target of order) rounds[target]?.throughput.push(await run(target, scenario.connections, scenario.seconds));
    if (scenario.concurrencyOne && round < LATENCY_ROUNDS) for (const target of order) rounds[target]?.concurrencyOne.push(await run(target, 1, LATENCY_SECONDS));
    const line = targets.map((target) => `${target} ${fixed(rounds[target]?.throughput.at(-1)?.rps ?? 0, 0)}`).join(", ");
    console.error(`  round ${round + 1}/${scenario.rounds}: ${line} req/s (c=${scenario.connections})`);
  }
  const ttfb = scenario.stream ? await runTtfb(dir, scenario, calls, targets) : null;
  // The answers are still whole after the load.
  for (const target of targets) {
    const call = calls[target];
    if (call) await checkOnce(target, scenario, call);
  }
  const tollgatePid = pids.tollgate;
  return { scenario, targets, rounds, ttfb, tollgateRssMb: tollgatePid ? rssMb(tollgatePid) : Number.NaN, tollgatePeakRssMb: tollgatePid ? peakRssMb(tollgatePid) : Number.NaN };
}

async function coldStarts(binary: string, dir: string, config: string): Promise<number[]> {
  const times: number[] = [];
  for (let run = 0; run < COLD_STARTS; run++) {
    const gateway = await startGateway(binary, dir, config, join(dir, `cold-${run}.log`), { TOLLGATE_LOG_LEVEL: "error", ...GATEWAY_ENV });
    started.push(gateway.child);
    try {
      times.push(await msUntilHealthy(gateway, 10_000));
    } finally {
      await stopGateway(gateway.child);
    }
  }
  return times;
}

async function measure(): Promise<Measured | null> {
  const startedAt = performance.now();
  const loadBefore = loadavg()[0] ?? Number.NaN;
  const wrk = ensureWrk();
  if (!wrk.ok) throw new Error(`this bench needs wrk: ${wrk.why}`);
  const { binary, commit } = await tollgateBinary();
  const dir = mkdtempSync(join(tmpdir(), "tollgate-bench-compare-"));
  try {
    const mock = await startTracked(["bun", join(import.meta.dir, "lib", "mock-upstream.ts"), "--tokens", String(TOKENS)], "the mock upstream");
    // The floor runs with the memory options Tollgate gives itself (src/cli/runtime-tuning.ts), so that
    // it stays what nothing built on Bun beats.
    const floor = await startTracked(["bun", join(import.meta.dir, "lib", "floor-proxy.ts"), "--upstream", `http://127.0.0.1:${mock.port}`], "the floor proxy", childEnv({ ...RUNTIME_ENV }));

    const config = join(dir, "tollgate.toml");
    writeFileSync(config, tollgateConfigToml(mock.port));
    const key = (JSON.parse(runCliOutput([binary, "init", "--config", config, "--json"], dir)) as { inference_key: string }).inference_key;
    runCliOutput([binary, "wallet", "credit", "--workspace", "default", "--usd", "1000000", "--config", config], dir);

    if (flags["only-profile"]) {
      const profiles = await profileTollgate(dir, config, { mockPort: mock.port, floorPort: floor.port, tollgateUrl: "", tollgateKey: key, portkeyUrl: null });
      console.log(profileLines(profiles).join("\n"));
      return null;
    }
    console.error("cold start of the binary");
    const coldStart = await coldStarts(binary, dir, config);

    const gateway: Started = await startGateway(binary, dir, config, join(dir, "serve.log"), { TOLLGATE_LOG_LEVEL: "error", ...GATEWAY_ENV });
    started.push(gateway.child);
    await msUntilHealthy(gateway, 15_000);
    await Bun.sleep(1_000);
    const idleRssMb = rssMb(gateway.child.pid);

    let portkeyInstall: PortkeyInstall | null = null;
    let portkeyWhy: string | null = null;
    let portkeyChild: Bun.Subprocess | null = null;
    let portkeyUrl: string | null = null;
    if (flags["skip-portkey"]) {
      portkeyWhy = "skipped (--skip-portkey)";
    } else {
      const availability = ensurePortkey(PORTKEY_DIR);
      if (availability.ok) {
        portkeyInstall = availability.install;
        try {
          const running = await startPortkey(availability.install, join(dir, "portkey.log"));
          started.push(running.child);
          portkeyChild = running.child;
          portkeyUrl = running.baseUrl;
        } catch (error) {
          portkeyWhy = `could not start: ${error instanceof Error ? error.message : String(error)}`;
        }
      } else {
        portkeyWhy = availability.why;
      }
      if (portkeyWhy) console.error(`Portkey is left out: ${portkeyWhy}`);
    }

    const endpoints: Endpoints = { mockPort: mock.port, floorPort: floor.port, tollgateUrl: gateway.baseUrl, tollgateKey: key, portkeyUrl };
    const pids: Partial<Record<TargetId, number>> = { floor: floor.child.pid, tollgate: gateway.child.pid, ...(portkeyChild ? { portkey: portkeyChild.pid } : {}) };
    let tollgateRequests = 0;
    const results: ScenarioResult[] = [];
    for (const scenario of scenarios()) {
      console.error(`== ${scenario.title}`);
      results.push(await measureScenario(dir, scenario, endpoints, pids, (count) => (tollgateRequests += count)));
    }
    await Bun.sleep(1_000);
    const afterRssMb = rssMb(gateway.child.pid);
    const afterFileRssMb = fileRssMb(gateway.child.pid);
    const tollgatePeak = peakRssMb(gateway.child.pid);
    const floorPeak = peakRssMb(floor.child.pid);
    const floorFileRssMb = fileRssMb(floor.child.pid);
    const portkeyPeak = portkeyChild ? peakRssMb(portkeyChild.pid) : null;
    if (portkeyChild) await stopGateway(portkeyChild);
    const code = await stopGateway(gateway.child);
    if (code !== 0) console.error(`warning: the gateway ended with ${code ?? `signal ${gateway.child.signalCode ?? "unknown"}`} on SIGTERM`);
    const verify = Bun.spawnSync([binary, "ledger", "verify", "--config", config], { cwd: dir, env: childEnv(), stdout: "pipe", stderr: "pipe", timeout: 60_000 });
    if (verify.exitCode !== 0) throw new Error(`tollgate ledger verify failed after the load: ${verify.stderr.toString()}${verify.stdout.toString()}`);

    let profiles: ProfileResult[] = [];
    let profileSkipped: string | null = null;
    if (flags["skip-profile"]) profileSkipped = "skipped (--skip-profile)";
    else {
      try {
        profiles = await profileTollgate(dir, config, endpoints);
      } catch (error) {
        profileSkipped = `failed: ${error instanceof Error ? error.message : String(error)}`;
        console.error(`profile ${profileSkipped}`);
      }
    }
    await stopGateway(floor.child);
    await stopGateway(mock.child);
    return {
      wrk: wrkVersion(),
      results,
      portkey: { install: portkeyInstall, why: portkeyWhy },
      tollgate: { binary, commit, idleRssMb, afterRssMb, afterFileRssMb, peakRssMb: tollgatePeak, coldStart, requests: tollgateRequests },
      floor: { peakRssMb: floorPeak, fileRssMb: floorFileRssMb },
      portkeyPeakRssMb: portkeyPeak,
      profiles,
      profileSkipped,
      loadBefore,
      loadAfter: loadavg()[0] ?? Number.NaN,
      wallSeconds: (performance.now() - startedAt) / 1000,
    };
  } finally {
    for (const child of started) if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
    rmSync(dir, { recursive: true, force: true });
  }
}

// ---------------------------------------------------------------------------------------------------
// CPU profile: Tollgate from source under `bun --cpu-prof`, one process per profiled scenario

async function profileTollgate(dir: string, config: string, endpoints: Endpoints): Promise<ProfileResult[]> {
  const profileDir = flags["profile-dir"] ? resolve(flags["profile-dir"]) : join(dir, "profiles");
  mkdirSync(profileDir, { recursive: true });
  // The two profiled in the doc; with --only, the scenarios named there.
  const wanted = scenarios().filter((scenario) => flags.only !== undefined || scenario.id === "openai" || scenario.id === "anthropic-openai-stream");
  const results: ProfileResult[] = [];
  for (const scenario of wanted) {
    const name = `${scenario.id}.cpuprofile`;
    const argv = ["bun", "--cpu-prof", `--cpu-prof-dir=${profileDir}`, `--cpu-prof-name=${name}`, join(ROOT, "src", "main.ts")];
    const gateway = await startGateway(argv, dir, config, join(dir, `profile-${scenario.id}.log`), { TOLLGATE_LOG_LEVEL: "error", ...GATEWAY_ENV });
    started.push(gateway.child);
    let rps = 0;
    try {
      await msUntilHealthy(gateway, 20_000);
      const call = requestFor("tollgate", scenario, { ...endpoints, tollgateUrl: gateway.baseUrl });
      await checkOnce("tollgate", scenario, call);
      const script = writeWrkScript(dir, `profile-${scenario.id}`, call.request);
      await runWrk({ baseUrl: call.baseUrl, script, connections: CONNECTIONS, seconds: 1 });
      rps = (await runWrk({ baseUrl: call.baseUrl, script, connections: CONNECTIONS, seconds: PROFILE_SECONDS })).rps;
    } finally {
      // The profile is written when the process exits: give a graceful stop time.
      await stopGateway(gateway.child, 15_000);
    }
    const path = join(profileDir, name);
    if (!existsSync(path)) throw new Error(`bun --cpu-prof wrote no ${name} (did the gateway exit on SIGTERM?)`);
    const summary = summarizeProfile(JSON.parse(readFileSync(path, "utf8")) as CpuProfile);
    results.push({ scenario: scenario.title, rps, ...summary });
    console.error(`profiled ${scenario.title}: ${summary.samples} samples`);
  }
  return results;
}

if (import.meta.main) {
  const measured = await measure();
  if (measured === null) process.exit(0);
  const markdown = report(measured);
  console.log(`\n## ${SECTION}\n\n${markdown}`);
  if (flags.write) {
    writeBenchSection(SECTION, markdown, COMMAND);
    console.error(`wrote the "${SECTION}" section of docs/benchmarks.md`);
  }
}
