/** Tollgate as a child process (`bun src/main.ts …`) for tests that need a real process: exits, signals, crashes. */

import { afterEach, beforeEach } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { listeningAddress } from "../../src/cli/listening-line.ts";

export const ROOT = join(import.meta.dir, "..", "..");
export const MAIN = join(ROOT, "src", "main.ts");

export interface Started {
  child: Bun.Subprocess<"ignore", "pipe", "pipe">;
  stdout: Promise<string>;
  stderr: Promise<string>;
  /** The address from the "tollgate listening on …" line (rejects if the process ends without one). */
  listening: Promise<string>;
}

/** The parent's environment minus anything that would point the CLI at another config. */
export function childEnv(): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [name, value] of Object.entries(process.env)) {
    if (value !== undefined && !name.startsWith("TOLLGATE_")) env[name] = value;
  }
  env.TOLLGATE_LOG_LEVEL = "error";
  return env;
}

export function startTollgate(args: string[], cwd: string, children: Bun.Subprocess[], env: Record<string, string> = childEnv(), runtimeArgs: string[] = []): Started {
  const child = Bun.spawn(["bun", ...runtimeArgs, MAIN, ...args], { cwd, env, stdin: "ignore", stdout: "pipe", stderr: "pipe" });
  children.push(child);
  const listening = Promise.withResolvers<string>();
  const stdout = (async () => {
    let text = "";
    const decoder = new TextDecoder();
    for await (const chunk of child.stdout) {
      text += decoder.decode(chunk, { stream: true });
      const address = listeningAddress(text);
      if (address) listening.resolve(address);
    }
    listening.reject(new Error(`the gateway exited (${await child.exited}) before listening: ${text}`));
    return text;
  })();
  listening.promise.catch(() => {});
  return { child, stdout, stderr: new Response(child.stderr).text(), listening: listening.promise };
}

/**
 * `tollgate serve` on a port the kernel picks (--listen 127.0.0.1:0), its address read from its own
 * "listening on" line: a port picked beforehand and released could be taken by another process before
 * the gateway binds it, and a test would then talk to a stranger.
 */
export async function serveOnFreePort(
  args: string[],
  cwd: string,
  children: Bun.Subprocess[],
  env: Record<string, string> = childEnv(),
  /** Flags for Bun itself, before the script (`--cpu-prof`). */
  runtimeArgs: string[] = [],
): Promise<Started & { baseUrl: string }> {
  const started = startTollgate(["serve", ...args, "--listen", "127.0.0.1:0"], cwd, children, env, runtimeArgs);
  const baseUrl = await Promise.race([
    started.listening,
    sleep(10_000).then(() => {
      throw new Error("the gateway did not say where it listens within 10 s");
    }),
  ]);
  await waitForHealthy(baseUrl, started);
  return { ...started, baseUrl };
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

export function freeLoopbackPort(): number {
  const probe = Bun.serve({ hostname: "127.0.0.1", port: 0, fetch: () => new Response() });
  const port = probe.port;
  probe.stop(true);
  if (port === undefined) throw new Error("no free loopback port");
  return port;
}

export async function waitForHealthy(baseUrl: string, started: Started, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (started.child.exitCode !== null) throw new Error(`serve exited early (${started.child.exitCode}): ${await started.stderr}`);
    const status = await fetch(`${baseUrl}/healthz`).then(
      (response) => response.status,
      () => 0,
    );
    if (status === 200) return;
    await sleep(50);
  }
  throw new Error(`serve was not healthy within ${timeoutMs} ms`);
}

/** Kills every child still running (afterEach). */
export async function killAll(children: Bun.Subprocess[]): Promise<void> {
  for (const child of children.splice(0)) {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill("SIGKILL");
      await child.exited;
    }
  }
}

/** A fresh temporary folder for each test and the processes started in it: killed and removed after it. */
export function useProcessFolder(prefix: string): { readonly dir: string; readonly children: Bun.Subprocess[] } {
  const folder = { dir: "", children: [] as Bun.Subprocess[] };
  beforeEach(() => {
    folder.dir = mkdtempSync(join(tmpdir(), prefix));
  });
  afterEach(async () => {
    await killAll(folder.children);
    rmSync(folder.dir, { recursive: true, force: true });
  });
  return folder;
}
