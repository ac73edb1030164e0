/**
 * The command table: `tollgate <command> …`. Unknown commands and bad arguments print usage on stderr
 * and exit 2; config errors list every problem and exit 2; other failures print one line and exit 1.
 */

import { ConfigError } from "../config/compile.ts";
import { DatabaseOpenError } from "../db/client.ts";
import type { Command } from "./command.ts";
import { configCommand } from "./config-check.ts";
import { initCommand } from "./init.ts";
import { CliFailure, processIo, UsageError, type CliIo } from "./io.ts";
import { keyCommand } from "./key.ts";
import { ledgerCommand } from "./ledger.ts";
import { migrateCommand } from "./migrate.ts";
import { serveCommand } from "./serve.ts";
import { versionCommand } from "./version.ts";
import { walletCommand } from "./wallet.ts";
import { workspaceCommand } from "./workspace.ts";
import { messageOf } from "../lib/log.ts";

export const COMMANDS: readonly Command[] = [
  serveCommand,
  initCommand,
  migrateCommand,
  configCommand,
  workspaceCommand,
  keyCommand,
  walletCommand,
  ledgerCommand,
  versionCommand,
];

function mainUsage(): string {
  const width = Math.max(...COMMANDS.map((command) => command.name.length));
  const lines = COMMANDS.map((command) => `  ${command.name.padEnd(width)}  ${command.summary}`);
  return `usage: tollgate <command> [options]\n\ncommands:\n${lines.join("\n")}\n\nEvery command accepts --config FILE; most accept --json.\n`;
}

export async function runCli(argv: string[], io: CliIo = processIo): Promise<number> {
  const [name, ...args] = argv;
  if (name === undefined || name === "help" || name === "--help" || name === "-h") {
    (name === undefined ? io.stderr : io.stdout)(mainUsage());
    return name === undefined ? 2 : 0;
  }
  if (name === "--version") return versionCommand.run([], io);
  const command = COMMANDS.find((candidate) => candidate.name === name);
  if (!command) {
    io.stderr(`tollgate: unknown command '${name}'\n\n${mainUsage()}`);
    return 2;
  }
  if (args.includes("--help") || args.includes("-h")) {
    io.stdout(`usage: ${command.usage}\n`);
    return 0;
  }
  try {
    return await command.run(args, io);
  } catch (error) {
    if (error instanceof UsageError) {
      io.stderr(`tollgate ${name}: ${error.message}\nusage: ${command.usage}\n`);
      return 2;
    }
    if (error instanceof ConfigError) {
      io.stderr(`${error.errors.map((line) => `config error: ${line}`).join("\n")}\n`);
      return 2;
    }
    if (error instanceof CliFailure) {
      io.stderr(`tollgate ${name}: ${error.message}\n`);
      return error.exitCode;
    }
    if (error instanceof DatabaseOpenError) {
      io.stderr(`tollgate ${name}: ${error.message}\n`);
      return 1;
    }
    io.stderr(`tollgate ${name}: unexpected error: ${messageOf(error)}\n`);
    return 1;
  }
}
