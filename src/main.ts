// Entry point: argv → the CLI. Nothing else lives here.
import { runCli } from "./cli/index.ts";

process.exitCode = await runCli(process.argv.slice(2));
