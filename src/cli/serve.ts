/**
 * `tollgate serve`: load config → open and migrate the database → createApp → listen. SIGTERM/SIGINT
 * stop accepting, let in-flight calls finish (their settlement included), then close the database.
 */

import { listeningLine } from "./listening-line.ts";
import { createApp } from "../app.ts";
import { sweepExpiredLots } from "../billing/lots.ts";
import { parseListen } from "../config/compile.ts";
import { loadConfig } from "../config/load.ts";
import { makeDeps } from "../deps.ts";
import { bootstrapDefaultWorkspace } from "./bootstrap.ts";
import { messageOf, type LogLevel } from "../lib/log.ts";
import type { Command } from "./command.ts";
import { CliFailure, COMMON_OPTIONS, parseCommandArgs, UsageError } from "./io.ts";

const OPTIONS = { ...COMMON_OPTIONS, listen: { type: "string" } } as const;
// Bun's maximum; streams also send keepalive comments while an upstream is silent.
const IDLE_TIMEOUT_SECONDS = 255;
const LOG_LEVELS = new Set(["debug", "info", "warn", "error"]);
const LOT_SWEEP_INTERVAL_MS = 60_000;

export const serveCommand: Command = {
  name: "serve",
  summary: "run the gateway",
  usage: "tollgate serve [--config FILE] [--listen HOST:PORT]",
  async run(args, io) {
    const { values } = parseCommandArgs(args, OPTIONS, { min: 0, max: 0 });
    const override = values.listen === undefined ? null : parseListen(values.listen);
    if (values.listen !== undefined && !override) throw new UsageError(`--listen expects HOST:PORT, got '${values.listen}'`);
    const { config, path } = loadConfig({ explicitPath: values.config, env: io.env, cwd: io.cwd });
    if (path === null) {
      io.stdout(`no config file found: running on the built-in demo config (mock provider, SQLite at ${config.server.database})\n`);
    }
    const envLevel = io.env.TOLLGATE_LOG_LEVEL ?? "info";
    const deps = makeDeps(config, { logLevel: (LOG_LEVELS.has(envLevel) ? envLevel : "info") as LogLevel });
    if (path === null && (await deps.repos.workspaces.list()).length === 0) {
      // A first demo run has no keys to call it with: issue a starter pair, once.
      const demo = await bootstrapDefaultWorkspace(config, deps.database.db, Date.now());
      io.stdout(`created workspace 'default' with a starter grant; its keys (shown once):\n  management key: ${demo.managementKey}\n  inference key:  ${demo.inferenceKey}\n`);
    }
    const listen = override ?? config.server.listen;
    const app = createApp(deps);
    try {
      app.listen({
        hostname: listen.hostname,
        port: listen.port,
        idleTimeout: IDLE_TIMEOUT_SECONDS,
        // Elysia defaults to SO_REUSEPORT, which lets a second gateway share a busy port silently.
        reusePort: false,
        // A hard ceiling above max_body_bytes: the gateway's own check answers 413 in the client's dialect.
        maxRequestBodySize: config.server.maxBodyBytes + 1_048_576,
      });
    } catch (error) {
      await deps.close();
      const reason = messageOf(error);
      const inUse = /EADDRINUSE|in use/i.test(reason);
      throw new CliFailure(`cannot listen on ${listen.hostname}:${listen.port}: ${inUse ? "the address is already in use" : reason}`);
    }
    const server = app.server;
    const address = `http://${server?.hostname ?? listen.hostname}:${server?.port ?? listen.port}`;
    io.stdout(listeningLine(address, path ?? "demo"));
    deps.log.info("listening", { address, config: path ?? "demo", database: config.server.database });
    // The compiled binary starts with raised JIT thresholds (scripts/build.ts: jitPolicy) so run-once
    // start-up code stays in the interpreter; request handling is the hot path: back to the normal policy.
    Bun.unsafe.setJITPolicy(1);

    // Credit lots past their validity leave through ledger entries even for wallets nobody reads.
    const sweep = setInterval(() => {
      try {
        for (const lot of sweepExpiredLots(deps.database.db, deps.clock.now())) deps.wallet.invalidate(lot.workspaceId);
      } catch (error) {
        deps.log.error("lot expiry sweep failed", { error: messageOf(error) });
      }
    }, LOT_SWEEP_INTERVAL_MS);
    sweep.unref();

    return new Promise<number>((resolveExit) => {
      let stopping = false;
      const stop = async (signal: string) => {
        if (stopping) return;
        stopping = true;
        deps.log.info("shutting down", { signal });
        clearInterval(sweep);
        // Neither step may throw out of here: an unhandled rejection would end the process without the
        // settlements being committed. A listener that fails to stop still lets them be committed.
        try {
          await app.stop(false); // stop accepting; wait for in-flight requests
        } catch (error) {
          deps.log.error("stopping the listener failed", { error: messageOf(error) });
        }
        let code = 0;
        try {
          await deps.close();
        } catch (error) {
          code = 1;
          deps.log.error("closing failed; some settlements may not be committed", { error: messageOf(error) });
        }
        io.stdout("tollgate stopped\n");
        resolveExit(code);
      };
      process.once("SIGTERM", () => void stop("SIGTERM"));
      process.once("SIGINT", () => void stop("SIGINT"));
    });
  },
};
