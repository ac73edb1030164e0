/**
 * `tollgate init`: write a starter config (config.example.toml, on the offline mock provider) if none
 * exists, migrate, create workspace `default` with a small operator grant, and print a management key
 * and an inference key (shown once). A second run reuses `default` and prints new keys.
 */

import { existsSync, mkdirSync, writeFileSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { formatUsd } from "../billing/money.ts";
import { DEMO_CONFIG_TOML } from "../config/demo.ts";
import { bootstrapDefaultWorkspace, DEFAULT_WORKSPACE, STARTER_GRANT_MICROCENTS } from "./bootstrap.ts";
import type { Command } from "./command.ts";
import { withCommandEnv } from "./context.ts";
import { COMMON_OPTIONS, parseCommandArgs, printJson } from "./io.ts";

export const initCommand: Command = {
  name: "init",
  summary: "write a starter config, create workspace 'default' and print its keys",
  usage: "tollgate init [--config FILE] [--json]",
  async run(args, io) {
    const { values } = parseCommandArgs(args, COMMON_OPTIONS, { min: 0, max: 0 });
    const configPath = resolve(io.cwd, values.config ?? (io.env.TOLLGATE_CONFIG || "tollgate.toml"));
    const wroteConfig = !existsSync(configPath);
    if (wroteConfig) {
      mkdirSync(dirname(configPath), { recursive: true });
      writeFileSync(configPath, DEMO_CONFIG_TOML, { flag: "wx" });
    }
    return withCommandEnv(io, configPath, async (env) => {
      const { workspace, created: createdWorkspace, managementKey, inferenceKey } = await bootstrapDefaultWorkspace(env.config, env.database.db, Date.now());
      if (values.json) {
        printJson(io, {
          config: configPath,
          database: env.config.server.database,
          workspace: { id: workspace.id, name: workspace.name },
          management_key: managementKey,
          inference_key: inferenceKey,
        });
      } else {
        io.stderr(wroteConfig ? `wrote starter config ${configPath}\n` : `using existing config ${configPath}\n`);
        io.stderr(`database ${env.config.server.database} is migrated\n`);
        io.stderr(
          createdWorkspace
            ? `created workspace '${DEFAULT_WORKSPACE}' with a ${formatUsd(STARTER_GRANT_MICROCENTS)} starter grant\n`
            : `workspace '${DEFAULT_WORKSPACE}' exists; issued new keys\n`,
        );
        io.stdout(`management key: ${managementKey}\ninference key:  ${inferenceKey}\n`);
        io.stderr("keys are shown once: store them now. Start the gateway with `tollgate serve`.\n");
      }
      return 0;
    });
  },
};
