/**
 * Load from `wrk` (a low-CPU C load generator, one thread, its own process) for the benches: installs it
 * with apt-get when missing, writes a Lua script for the request (method, body, headers), runs one
 * time-bounded closed loop and parses the JSON line the script's `done()` prints: requests, duration,
 * latency percentiles (µs), non-2xx answers and socket errors.
 */

import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { childEnv } from "./gateway-process.ts";

export interface WrkRequest {
  method: "POST" | "GET";
  /** Path and query, e.g. `/v1/chat/completions`. */
  path: string;
  body?: string;
  headers: Record<string, string>;
}

export interface WrkReport {
  requests: number;
  durationUs: number;
  bytes: number;
  /** Completed requests per second over the run. */
  rps: number;
  p50Us: number;
  p90Us: number;
  p99Us: number;
  meanUs: number;
  maxUs: number;
  /** Answers with a status above 399 (wrk's `errors.status`). */
  non2xx: number;
  /** Connect, read, write and timeout errors. */
  socketErrors: number;
}

function spawnQuiet(command: string[], timeoutMs: number): { ok: boolean; output: string } {
  try {
    const result = Bun.spawnSync(command, { stdout: "pipe", stderr: "pipe", timeout: timeoutMs, env: childEnv({ DEBIAN_FRONTEND: "noninteractive" }) });
    return { ok: result.exitCode === 0, output: `${result.stdout.toString()}${result.stderr.toString()}` };
  } catch (error) {
    return { ok: false, output: error instanceof Error ? error.message : String(error) };
  }
}

/** wrk if present; else `apt-get install -y wrk`, with `apt-get update` first when that fails. */
export function ensureWrk(): { ok: true } | { ok: false; why: string } {
  if (Bun.which("wrk")) return { ok: true };
  if (!Bun.which("apt-get")) return { ok: false, why: "wrk is not installed and there is no apt-get" };
  console.error("wrk is missing: apt-get install -y wrk");
  if (!spawnQuiet(["apt-get", "install", "-y", "wrk"], 180_000).ok) {
    spawnQuiet(["apt-get", "update"], 180_000);
    const second = spawnQuiet(["apt-get", "install", "-y", "wrk"], 180_000);
    if (!second.ok) return { ok: false, why: `apt-get install -y wrk failed: ${second.output.trim().split("\n").slice(-1)[0] ?? ""}` };
  }
  return Bun.which("wrk") ? { ok: true } : { ok: false, why: "wrk is still missing after apt-get install" };
}

/** `wrk debian/4.1.0-3+b2 [epoll]`, without the copyright. */
export function wrkVersion(): string {
  return spawnQuiet(["wrk", "--version"], 5_000).output.split("\n")[0]?.replace(/\s*Copyright.*$/, "").trim() ?? "wrk";
}

function luaString(text: string): string {
  // JSON string escapes are valid Lua escapes for the characters JSON.stringify emits (\" \\ \n \t \uXXXX aside).
  if (/[\u0000-\u001f\u007f-\uffff]/.test(text)) {
    // Lua 5.1 has no \u escapes: spell every byte of the UTF-8 encoding as a decimal escape.
    return `"${[...new TextEncoder().encode(text)].map((byte) => (byte >= 0x20 && byte < 0x7f && byte !== 0x22 && byte !== 0x5c ? String.fromCharCode(byte) : `\\${byte}`)).join("")}"`;
  }
  return JSON.stringify(text);
}

/** The Lua script for one request shape; `done()` prints its figures as one `WRK_JSON {…}` line. */
export function wrkScript(request: WrkRequest): string {
  const headers = Object.entries(request.headers)
    .map(([name, value]) => `wrk.headers[${luaString(name)}] = ${luaString(value)}`)
    .join("\n");
  return `wrk.method = ${luaString(request.method)}
wrk.path = ${luaString(request.path)}
${request.body === undefined ? "" : `wrk.body = ${luaString(request.body)}`}
${headers}

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format('WRK_JSON {"requests":%d,"durationUs":%d,"bytes":%d,"p50Us":%d,"p90Us":%d,"p99Us":%d,"meanUs":%f,"maxUs":%d,"non2xx":%d,"socketErrors":%d}\\n',
    summary.requests, summary.duration, summary.bytes, latency:percentile(50), latency:percentile(90), latency:percentile(99),
    latency.mean, latency.max, e.status, e.connect + e.read + e.write + e.timeout))
end
`;
}

/** Writes the script for `request` into `dir` under `name` and returns its path. */
export function writeWrkScript(dir: string, name: string, request: WrkRequest): string {
  const path = join(dir, `${name}.lua`);
  writeFileSync(path, wrkScript(request));
  return path;
}

export interface WrkRun {
  /** `http://127.0.0.1:PORT`; the script supplies the path. */
  baseUrl: string;
  script: string;
  connections: number;
  /** wrk takes whole seconds. */
  seconds: number;
  timeoutSeconds?: number;
  /** Allow non-2xx answers and socket errors instead of failing (never for figures). */
  tolerateErrors?: boolean;
}

/** One bounded wrk run; fails loudly on any non-2xx answer or socket error, or when nothing completed. */
export async function runWrk(run: WrkRun): Promise<WrkReport> {
  if (!Number.isInteger(run.seconds) || run.seconds < 1 || run.seconds > 600) throw new Error(`wrk runs whole seconds from 1 to 600, got ${run.seconds}`);
  const command = ["wrk", "-t1", `-c${run.connections}`, `-d${run.seconds}s`, "--timeout", `${run.timeoutSeconds ?? 10}s`, "-s", run.script, `${run.baseUrl}/`];
  const child = Bun.spawn(command, { env: childEnv(), stdout: "pipe", stderr: "pipe" });
  const killer = setTimeout(() => child.kill("SIGKILL"), (run.seconds + 30) * 1000);
  const [stdout, stderr, exitCode] = await Promise.all([new Response(child.stdout).text(), new Response(child.stderr).text(), child.exited]);
  clearTimeout(killer);
  const line = stdout.split("\n").find((text) => text.startsWith("WRK_JSON "));
  if (exitCode !== 0 || !line) throw new Error(`wrk exited ${exitCode}: ${(stderr.trim() || stdout.trim()).slice(0, 500)}`);
  const raw = JSON.parse(line.slice("WRK_JSON ".length)) as Omit<WrkReport, "rps">;
  const report: WrkReport = { ...raw, rps: raw.requests / (raw.durationUs / 1e6) };
  if (!run.tolerateErrors) {
    if (report.non2xx > 0 || report.socketErrors > 0) {
      throw new Error(`wrk against ${run.baseUrl} (${run.script}): ${report.non2xx} non-2xx answers and ${report.socketErrors} socket errors in ${report.requests} requests`);
    }
    if (report.requests === 0) throw new Error(`wrk against ${run.baseUrl} (${run.script}) completed no request`);
  }
  return report;
}
