// Entry point: argv → the CLI. Nothing else lives here. `serve` may first execute itself again with
// allocator options (allocator-tuning.ts); the CLI is imported after, so that costs no module loading.
import { execWithAllocatorTuning } from "./cli/allocator-tuning.ts";

execWithAllocatorTuning();
const { runCli } = await import("./cli/index.ts");
process.exitCode = await runCli(process.argv.slice(2));
