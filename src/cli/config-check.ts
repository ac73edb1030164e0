/** `tollgate config check`: validate the config; every error names its TOML path; exit 2 on any. */

import { loadConfig } from "../config/load.ts";
import type { Command } from "./command.ts";
import { COMMON_OPTIONS, parseCommandArgs, printJson, UsageError } from "./io.ts";

export const configCommand: Command = {
  name: "config",
  summary: "config check: validate the configuration",
  usage: "tollgate config check [--config FILE] [--json]",
  async run(args, io) {
    const { values, positionals } = parseCommandArgs(args, COMMON_OPTIONS, { min: 1, max: 1 });
    if (positionals[0] !== "check") throw new UsageError(`unknown subcommand '${positionals[0]}'`);
    // A ConfigError propagates: the CLI prints each error and exits 2.
    const { config, path } = loadConfig({ explicitPath: values.config, env: io.env, cwd: io.cwd });
    const source = path ?? "built-in demo config";
    if (values.json) printJson(io, { ok: true, config: path, models: config.models.length, providers: config.providers.length });
    else io.stderr(`config OK: ${source} (${config.providers.length} providers, ${config.models.length} models)\n`);
    return 0;
  },
};
