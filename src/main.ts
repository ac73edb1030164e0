// Entry point: argv → the CLI. Nothing else lives here. `serve` may first execute itself again with
// memory options (runtime-tuning.ts); the CLI is imported after, so that costs no module loading.
import { execWithRuntimeTuning } from "./cli/runtime-tuning.ts";

execWithRuntimeTuning();
const { runCli } = await import("./cli/index.ts");
process.exitCode = await runCli(process.argv.slice(2));
