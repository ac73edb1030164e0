/**
 * Preloaded into a bench target (`BUN_OPTIONS=--preload bench/lib/allocator-dump-preload.ts`): on SIGUSR2
 * it writes bench/lib/mimalloc-dump.ts's marker line, then Bun's allocator statistics, to stderr. The marker
 * is written synchronously to the descriptor the table goes to, so it always comes first.
 */

import { writeSync } from "node:fs";
import { DUMP_MARKER } from "./mimalloc-dump.ts";

process.on("SIGUSR2", () => {
  writeSync(2, `${DUMP_MARKER}\n`);
  Bun.unsafe.mimallocDump();
});
