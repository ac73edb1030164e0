/**
 * `bun run build:order`: records which functions the compiled gateway runs, into scripts/bytecode-order.txt,
 * which scripts/build.ts hands to `bun build --compile` (`bytecodeOrder`): Bun then lays out the bytecode those
 * functions use together at the front of the executable, so a gateway touches fewer of its pages. The
 * recording runs the binary (BUN_BYTECODE_ORDER_OUT) through start-up and a few streamed calls of each
 * client and upstream dialect against the bench upstream. A profile from an older build still applies (new
 * functions go after it); record again when the hot path changes.
 */

import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ALL_SCENARIOS, requestFor, send, withProcesses } from "../bench/lib/stream-bench.ts";
import { BYTECODE_ORDER_PATH, buildBinary } from "./build.ts";

const CALLS_PER_SCENARIO = 20;

if (import.meta.main) {
  await buildBinary();
  const scratch = mkdtempSync(join(tmpdir(), "tollgate-bytecode-order-"));
  const recorded = join(scratch, "order.txt");
  try {
    const settings = { tokens: 64, paceMs: 0, batch: 1, concurrency: 1 };
    await withProcesses(settings, {}, [{ env: { BUN_BYTECODE_ORDER_OUT: recorded } }], async ([gateway]) => {
      if (!gateway) throw new Error("no gateway started");
      for (const scenario of ALL_SCENARIOS) {
        for (let call = 0; call < CALLS_PER_SCENARIO; call++) await send(scenario, requestFor(gateway.started.baseUrl, gateway.key, scenario));
      }
    });
    // The gateway writes the profile as it exits (withProcesses stops it).
    const profile = readFileSync(recorded, "utf8");
    if (!profile.startsWith("v2\n")) throw new Error("the gateway wrote no bytecode order profile");
    writeFileSync(BYTECODE_ORDER_PATH, profile);
    console.log(`wrote ${BYTECODE_ORDER_PATH}`);
    // dist/ was built with the previous profile: build it again with this one.
    await buildBinary();
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
}
