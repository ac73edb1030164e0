/** Runs the compiled gateway as a child process for benchmarks: start, time to healthy, RSS, stop. */

import { readdirSync, readFileSync } from "node:fs";
import { listeningAddress } from "../../src/cli/listening-line.ts";

export function freeLoopbackPort(): number {
  const probe = Bun.serve({ hostname: "127.0.0.1", port: 0, fetch: () => new Response() });
  const port = probe.port;
  probe.stop(true);
  if (port === undefined) throw new Error("could not find a free loopback port");
  return port;
}

/**
 * `promise`, or `onTimeout` after `ms`, whichever comes first. The timer is cleared either way: a pending
 * `Bun.sleep` in a race keeps the process alive until it fires, long after the bench has finished.
 */
export async function raceTimeout<T, U>(promise: Promise<T>, ms: number, onTimeout: U): Promise<T | U> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    return await Promise.race([promise, new Promise<U>((resolve) => (timer = setTimeout(() => resolve(onTimeout), ms)))]);
  } finally {
    clearTimeout(timer);
  }
}

/** The environment of a child: this one's, minus a TOLLGATE_CONFIG that would override `--config`. */
export function childEnv(extra: Record<string, string> = {}): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [name, value] of Object.entries(process.env)) {
    if (value !== undefined && name !== "TOLLGATE_CONFIG") env[name] = value;
  }
  return { ...env, ...extra };
}

/** `NAME=VALUE,NAME=VALUE` from a bench flag (an environment to try), as a record; `flag` names it in errors. */
export function parseEnvAssignments(flag: string, text: string): Record<string, string> {
  const env: Record<string, string> = {};
  for (const pair of text.split(",")) {
    if (pair === "") continue;
    const equals = pair.indexOf("=");
    if (equals <= 0) throw new Error(`--${flag} expects NAME=VALUE pairs, got '${pair}'`);
    env[pair.slice(0, equals)] = pair.slice(equals + 1);
  }
  return env;
}

export interface Started {
  child: Bun.Subprocess;
  /** http://127.0.0.1:PORT, from the gateway's own "listening on" line. */
  baseUrl: string;
  /** performance.now() just before the spawn. */
  spawnedAt: number;
  /** Where stdout goes; stderr goes to `${logPath}.err`. */
  logPath: string;
}

/**
 * Starts `tollgate serve` on a port the kernel picks (--listen 127.0.0.1:0) and resolves once it has said
 * where it listens: a port picked beforehand and released could be taken in between, on a machine whose
 * ephemeral ports a long load run has churned. `binary` is the executable, or a whole command (e.g.
 * `["bun", "src/main.ts"]`) to which `serve …` is appended; `extraEnv` adds to the child's environment.
 */
export async function startGateway(
  binary: string | readonly string[],
  cwd: string,
  configPath: string,
  logPath: string,
  extraEnv: Record<string, string> = {},
  timeoutMs = 20_000,
): Promise<Started> {
  const spawnedAt = performance.now();
  const command = typeof binary === "string" ? [binary] : [...binary];
  const child = Bun.spawn([...command, "serve", "--config", configPath, "--listen", "127.0.0.1:0"], {
    cwd,
    env: childEnv(extraEnv),
    stdin: "ignore",
    stdout: "pipe",
    stderr: Bun.file(`${logPath}.err`),
  });
  const log = Bun.file(logPath).writer();
  const reader = child.stdout.getReader();
  const decoder = new TextDecoder();
  let text = "";
  let baseUrl: string | undefined;
  const deadline = spawnedAt + timeoutMs;
  while (baseUrl === undefined) {
    const left = deadline - performance.now();
    const next = left > 0 ? await raceTimeout(reader.read(), left, null) : null;
    if (next === null || next.done) {
      child.kill("SIGKILL");
      await log.end();
      throw new Error(`${next === null ? `gateway did not say where it listens within ${timeoutMs} ms` : `gateway exited (code ${await child.exited}) before listening`}${errTail(logPath)}`);
    }
    log.write(next.value);
    text += decoder.decode(next.value, { stream: true });
    baseUrl = listeningAddress(text) ?? undefined;
  }
  // The rest of stdout keeps going to the log, so the child never blocks on a full pipe.
  void (async () => {
    for (;;) {
      const next = await reader.read();
      if (next.done) break;
      log.write(next.value);
    }
    await log.end();
  })().catch(() => {});
  return { child, baseUrl, spawnedAt, logPath };
}

/** The last lines of the gateway's stderr, for an error message. */
function errTail(logPath: string): string {
  try {
    const text = readFileSync(`${logPath}.err`, "utf8").trim();
    return text === "" ? "" : `; its stderr ends: ${text.slice(-600)}`;
  } catch {
    return "";
  }
}

/** Polls /healthz every `intervalMs` until the first 200; returns the ms since the spawn. */
export async function msUntilHealthy(started: Started, timeoutMs = 5_000, intervalMs = 2): Promise<number> {
  const deadline = started.spawnedAt + timeoutMs;
  const url = `${started.baseUrl}/healthz`;
  while (performance.now() < deadline) {
    if (started.child.exitCode !== null) throw new Error(`gateway exited with code ${started.child.exitCode} before it was healthy${errTail(started.logPath)}`);
    try {
      const response = await fetch(url);
      const healthy = response.status === 200;
      await response.arrayBuffer();
      if (healthy) return performance.now() - started.spawnedAt;
    } catch {
      // not listening yet
    }
    await Bun.sleep(intervalMs);
  }
  throw new Error(`gateway was not healthy within ${timeoutMs} ms${errTail(started.logPath)}`);
}

function statusKb(pid: number, field: "VmRSS" | "VmHWM" | "RssFile" | "RssAnon"): number {
  const status = readFileSync(`/proc/${pid}/status`, "utf8");
  const match = new RegExp(`^${field}:\\s*(\\d+)\\s*kB$`, "m").exec(status);
  if (!match?.[1]) throw new Error(`no ${field} in /proc/${pid}/status`);
  return Number(match[1]);
}

/** Resident set size now, in MB (MiB), from /proc/<pid>/status. */
export function rssMb(pid: number): number {
  return statusKb(pid, "VmRSS") / 1024;
}

/** The file-backed part of the resident set now (the executable's and libraries' own pages), in MB. */
export function fileRssMb(pid: number): number {
  return statusKb(pid, "RssFile") / 1024;
}

/** The anonymous part of the resident set now (heaps, stacks, JIT code), in MB. */
export function anonRssMb(pid: number): number {
  return statusKb(pid, "RssAnon") / 1024;
}

/** Peak resident set size so far, in MB (MiB). */
export function peakRssMb(pid: number): number {
  return statusKb(pid, "VmHWM") / 1024;
}

/**
 * Per process (its pid and start time: a pid can be reused), each thread's ns on CPU at its last reading
 * and the group it is counted in, and, per group, the time of threads whose id was reused.
 */
const threadClocks = new Map<string, { threads: Map<string, { ns: number; group: string }>; retiredNs: Map<string, number> }>();

/** The group of the thread whose id is the process's own: the one that runs JavaScript (Bun, Node). */
export const JS_THREAD = "JavaScript thread";

/** The process's start time in clock ticks since boot (field 22 of /proc/<pid>/stat). */
function startTicks(pid: number): string {
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  // The command name (field 2) may contain spaces: the fields that follow start after its last ")".
  return stat.slice(stat.lastIndexOf(")") + 2).split(" ")[19] ?? "";
}

/** A thread's group: the JavaScript thread, else its kernel name (`HTTP Client`, `Worker`, `HeapHelper`…). */
function threadGroup(pid: number, tid: string): string {
  if (tid === String(pid)) return JS_THREAD;
  try {
    return readFileSync(`/proc/${pid}/task/${tid}/comm`, "utf8").trim() || "other";
  } catch {
    return "other";
  }
}

/**
 * CPU time the process has used so far in ms, per thread group: the JavaScript thread and the others by
 * their kernel name. Each thread's time is the first field of /proc/<pid>/task/<tid>/schedstat (ns on
 * CPU). It varies less than wall time when other work shares the CPUs (no waiting for a CPU is counted),
 * though contention still slows the work itself. A thread that has exited keeps the time last read for it,
 * so a total never goes back (a sum of the live threads alone dropped by a whole thread's time when one
 * exited between two reads, which gave batches negative CPU); what it ran after that last read is not counted.
 */
export function cpuMsByThread(pid: number): Record<string, number> {
  const processKey = `${pid}@${startTicks(pid)}`;
  let clock = threadClocks.get(processKey);
  if (!clock) {
    clock = { threads: new Map(), retiredNs: new Map() };
    threadClocks.set(processKey, clock);
  }
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    try {
      const fields = readFileSync(`/proc/${pid}/task/${tid}/schedstat`, "utf8").trim().split(/\s+/);
      const ns = Number(fields[0] ?? 0);
      const previous = clock.threads.get(tid);
      // A smaller reading is a new thread that got a reused id: the old one's time is kept apart.
      if (previous && ns < previous.ns) clock.retiredNs.set(previous.group, (clock.retiredNs.get(previous.group) ?? 0) + previous.ns);
      const group = previous && ns >= previous.ns ? previous.group : threadGroup(pid, tid);
      clock.threads.set(tid, { ns, group });
    } catch {
      // the thread exited: its last reading stands
    }
  }
  const totals = new Map(clock.retiredNs);
  for (const { ns, group } of clock.threads.values()) totals.set(group, (totals.get(group) ?? 0) + ns);
  return Object.fromEntries([...totals].map(([group, ns]) => [group, ns / 1e6]));
}

/** CPU time the process has used so far, all threads, in ms (cpuMsByThread summed). */
export function cpuMs(pid: number): number {
  let total = 0;
  for (const ms of Object.values(cpuMsByThread(pid))) total += ms;
  return total;
}

/** Polls of a process's CPU time while waiting for it to go quiet. */
const QUIET_POLL_MS = 20;
/** CPU time below which a poll interval counts as quiet (timers, an idle worker thread). */
const QUIET_CPU_MS = 0.3;
const QUIET_MAX_MS = 1000;

/**
 * Waits until a process's CPU time stops moving (at most a second): the work a load leaves behind (a
 * gateway's settlements, which a worker thread commits a few ms later, a runtime's collection of the
 * load's garbage) then counts in that load and not in whatever is measured next.
 */
export async function untilQuiet(pid: number): Promise<void> {
  const deadline = performance.now() + QUIET_MAX_MS;
  let last = cpuMs(pid);
  while (performance.now() < deadline) {
    await Bun.sleep(QUIET_POLL_MS);
    const now = cpuMs(pid);
    if (now - last < QUIET_CPU_MS) return;
    last = now;
  }
}

/**
 * Spawns a bench process that prints its port as its first stdout line (the mock upstreams, the floor proxy)
 * and resolves with it and that port; kills it and throws if none comes within 15 s. Its stderr goes to
 * `stderrPath`, else to this process's.
 */
export async function startPortPrinter(
  argv: string[],
  label: string,
  options: { env?: Record<string, string>; cwd?: string; stderrPath?: string } = {},
): Promise<{ child: Bun.Subprocess; port: number }> {
  const stderr = options.stderrPath === undefined ? "inherit" : Bun.file(options.stderrPath);
  const child = Bun.spawn(argv, { cwd: options.cwd ?? process.cwd(), env: options.env ?? childEnv(), stdin: "ignore", stdout: "pipe", stderr });
  const reader = child.stdout.getReader();
  const decoder = new TextDecoder();
  let text = "";
  const deadline = performance.now() + 15_000;
  try {
    while (!text.includes("\n")) {
      // One read at a time, raced against the time left: a read abandoned to a timeout would take the port.
      const leftMs = deadline - performance.now();
      const next = leftMs > 0 ? await raceTimeout(reader.read(), leftMs, null) : null;
      if (next === null) throw new Error(`${label} printed no port within 15 s`);
      if (next.done) throw new Error(`${label} exited (code ${await child.exited}) before printing its port`);
      text += decoder.decode(next.value, { stream: true });
    }
    const port = Number(text.trim().split("\n")[0]);
    if (!Number.isInteger(port) || port <= 0) throw new Error(`${label} printed '${text.trim()}', not a port`);
    reader.releaseLock();
    return { child, port };
  } catch (error) {
    child.kill("SIGKILL");
    throw error;
  }
}

/** SIGTERM, then SIGKILL if the process has not exited within `timeoutMs`; returns the exit code. */
export async function stopGateway(child: Bun.Subprocess, timeoutMs = 5_000): Promise<number | null> {
  if (child.exitCode !== null || child.signalCode !== null) return child.exitCode;
  child.kill("SIGTERM");
  const code = await raceTimeout(child.exited, timeoutMs, null);
  if (code === null) {
    child.kill("SIGKILL");
    await child.exited;
  }
  return code;
}

/** Runs a CLI command of the gateway (e.g. `[binary, "init", …]`) to its end; its stdout, or an error naming its stderr. */
export function runCliOutput(argv: readonly string[], cwd: string): string {
  const result = Bun.spawnSync([...argv], { cwd, env: childEnv(), stdout: "pipe", stderr: "pipe", timeout: 30_000 });
  if (result.exitCode !== 0) throw new Error(`${argv.join(" ")} exited ${result.exitCode}: ${result.stderr.toString()}`);
  return result.stdout.toString();
}
