/**
 * The peer for bench/compare.ts: Portkey's open-source gateway (`@portkey-ai/gateway`, Node), installed
 * with npm into a scratch folder outside this repository's dependencies and started with node on a free
 * loopback port.
 *
 * `@hono/node-server` is pinned to the version Portkey's own lockfile resolves: its package.json only
 * asks for `^1.3.3`, so a fresh install picks the newest 1.x, which Portkey is not built and tested
 * against (the brief for this bench: its streams break). The published tarball ships no lockfile; when
 * one is found in the installed package it wins, else the version of Portkey's repository lockfile is
 * used (`LOCKFILE_HONO_NODE_SERVER`, 1.13.5 per Portkey-AI/gateway issue #1604).
 *
 * Portkey binds every interface by default; a `--import` preload makes its listen() bind 127.0.0.1.
 */

import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { childEnv, freeLoopbackPort } from "./gateway-process.ts";

export const PORTKEY_VERSION = "1.15.2";
/** `node_modules/@hono/node-server` in Portkey-AI/gateway's package-lock.json (see issue #1604). */
export const LOCKFILE_HONO_NODE_SERVER = "1.13.5";
export const PORTKEY_DIR = "/tmp/tollgate-bench-portkey";

export interface PortkeyInstall {
  dir: string;
  entry: string;
  portkeyVersion: string;
  honoNodeServerVersion: string;
  /** Where the @hono/node-server pin came from. */
  pinSource: string;
  nodeVersion: string;
  preload: string;
}

export type PortkeyAvailability = { ok: true; install: PortkeyInstall } | { ok: false; why: string };

function run(command: string[], cwd: string, timeoutMs: number): { ok: boolean; output: string } {
  try {
    const result = Bun.spawnSync(command, { cwd, stdout: "pipe", stderr: "pipe", timeout: timeoutMs, env: childEnv({ npm_config_update_notifier: "false", npm_config_fund: "false", npm_config_audit: "false" }) });
    return { ok: result.exitCode === 0, output: `${result.stdout.toString()}${result.stderr.toString()}` };
  } catch (error) {
    return { ok: false, output: error instanceof Error ? error.message : String(error) };
  }
}

function installedVersion(dir: string, name: string): string | null {
  try {
    return (JSON.parse(readFileSync(join(dir, "node_modules", name, "package.json"), "utf8")) as { version?: string }).version ?? null;
  } catch {
    return null;
  }
}

/** @hono/node-server's version in a lockfile shipped inside the installed package, if any. */
function pinFromShippedLockfile(packageDir: string): { version: string; source: string } | null {
  for (const name of ["npm-shrinkwrap.json", "package-lock.json"]) {
    const path = join(packageDir, name);
    if (!existsSync(path)) continue;
    try {
      const lock = JSON.parse(readFileSync(path, "utf8")) as { packages?: Record<string, { version?: string }> };
      const version = lock.packages?.["node_modules/@hono/node-server"]?.version;
      if (version) return { version, source: `${name} shipped in @portkey-ai/gateway` };
    } catch {
      // unreadable: fall through to the known pin
    }
  }
  return null;
}

const PRELOAD = `// Written by bench/lib/portkey.ts: bind every server Portkey starts to 127.0.0.1 only.
import net from "node:net";
const listen = net.Server.prototype.listen;
net.Server.prototype.listen = function (...args) {
  if (typeof args[0] === "number" && typeof args[1] !== "string") args.splice(1, 0, "127.0.0.1");
  else if (typeof args[0] === "object" && args[0] !== null && !("host" in args[0] && args[0].host)) args[0] = { ...args[0], host: "127.0.0.1" };
  return listen.apply(this, args);
};
`;

/**
 * Installs (or reuses) Portkey and the pinned @hono/node-server in `dir`; never throws: a missing node
 * or npm, or a failed install, comes back as `{ ok: false, why }` for the report.
 */
export function ensurePortkey(dir: string = PORTKEY_DIR): PortkeyAvailability {
  if (!Bun.which("node")) return { ok: false, why: "node is not installed" };
  if (!Bun.which("npm")) return { ok: false, why: "npm is not installed" };
  mkdirSync(dir, { recursive: true });
  const packageJson = join(dir, "package.json");
  if (!existsSync(packageJson)) writeFileSync(packageJson, `${JSON.stringify({ name: "tollgate-bench-portkey", private: true }, null, 2)}\n`);
  const packageDir = join(dir, "node_modules", "@portkey-ai", "gateway");

  if (installedVersion(dir, "@portkey-ai/gateway") !== PORTKEY_VERSION) {
    console.error(`installing @portkey-ai/gateway@${PORTKEY_VERSION} into ${dir} (npm)`);
    const installed = run(["npm", "install", "--no-audit", "--no-fund", "--save-exact", `@portkey-ai/gateway@${PORTKEY_VERSION}`], dir, 300_000);
    if (!installed.ok) return { ok: false, why: `npm install @portkey-ai/gateway@${PORTKEY_VERSION} failed: ${installed.output.trim().split("\n").slice(-3).join(" ")}` };
  }
  const shipped = pinFromShippedLockfile(packageDir);
  const pin = shipped ?? { version: LOCKFILE_HONO_NODE_SERVER, source: "Portkey-AI/gateway's package-lock.json (the npm tarball ships none)" };
  if (installedVersion(dir, "@hono/node-server") !== pin.version) {
    // An override as well as the direct dependency, so no copy nested under Portkey keeps the newest 1.x.
    const manifest = JSON.parse(readFileSync(packageJson, "utf8")) as Record<string, unknown>;
    manifest.overrides = { "@hono/node-server": pin.version };
    writeFileSync(packageJson, `${JSON.stringify(manifest, null, 2)}\n`);
    console.error(`pinning @hono/node-server@${pin.version} (${pin.source})`);
    const pinned = run(["npm", "install", "--no-audit", "--no-fund", "--save-exact", `@hono/node-server@${pin.version}`], dir, 300_000);
    if (!pinned.ok) return { ok: false, why: `npm install @hono/node-server@${pin.version} failed: ${pinned.output.trim().split("\n").slice(-3).join(" ")}` };
  }
  const nested = join(packageDir, "node_modules", "@hono", "node-server");
  if (existsSync(nested)) return { ok: false, why: `a nested @hono/node-server under ${packageDir} escapes the pin` };
  const entry = join(packageDir, "build", "start-server.js");
  if (!existsSync(entry)) return { ok: false, why: `no ${entry} in the installed package` };
  const preload = join(dir, "bind-loopback.mjs");
  writeFileSync(preload, PRELOAD);
  const node = run(["node", "--version"], dir, 10_000);
  return {
    ok: true,
    install: {
      dir,
      entry,
      portkeyVersion: installedVersion(dir, "@portkey-ai/gateway") ?? "unknown",
      honoNodeServerVersion: installedVersion(dir, "@hono/node-server") ?? "unknown",
      pinSource: pin.source,
      nodeVersion: node.output.trim(),
      preload,
    },
  };
}

export interface RunningPortkey {
  child: Bun.Subprocess;
  baseUrl: string;
}

/** `node --import bind-loopback.mjs start-server.js --port=N --headless`; waits until it accepts calls. */
export async function startPortkey(install: PortkeyInstall, logPath: string, timeoutMs = 20_000): Promise<RunningPortkey> {
  const port = freeLoopbackPort();
  const child = Bun.spawn(["node", "--import", install.preload, install.entry, `--port=${port}`, "--headless"], {
    cwd: install.dir,
    env: childEnv({ NODE_ENV: "production" }),
    stdin: "ignore",
    stdout: Bun.file(logPath),
    stderr: Bun.file(`${logPath}.err`),
  });
  const baseUrl = `http://127.0.0.1:${port}`;
  const deadline = performance.now() + timeoutMs;
  while (performance.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`Portkey exited with code ${child.exitCode} before it listened`);
    try {
      const response = await fetch(`${baseUrl}/`);
      await response.arrayBuffer();
      return { child, baseUrl };
    } catch {
      // not listening yet
    }
    await Bun.sleep(50);
  }
  child.kill("SIGKILL");
  await child.exited;
  throw new Error(`Portkey did not listen on ${baseUrl} within ${timeoutMs} ms`);
}
