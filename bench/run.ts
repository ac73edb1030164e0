/**
 * `bun run bench`: every benchmark in sequence, each in its own process (so one bench's memory and JIT
 * state never colour the next), each rewriting its section of docs/benchmarks.md. Extra arguments are
 * passed to every bench; the first failure stops the run.
 */

import { join } from "node:path";

/** Bench modules, run in this order; each accepts `--write`. */
const BENCHES: readonly string[] = ["cold-start.ts", "translation.ts", "lane.ts", "token-count.ts", "billing.ts", "admission.ts", "compare.ts"];

const extraArgs = process.argv.slice(2);
const startedAt = performance.now();
for (const bench of BENCHES) {
  const benchStartedAt = performance.now();
  console.error(`\n== bench/${bench}`);
  const child = Bun.spawn(["bun", join(import.meta.dir, bench), "--write", ...extraArgs], {
    cwd: join(import.meta.dir, ".."),
    stdio: ["inherit", "inherit", "inherit"],
  });
  const exitCode = await child.exited;
  if (exitCode !== 0) {
    console.error(`bench/${bench} failed (exit ${exitCode})`);
    process.exit(exitCode);
  }
  console.error(`bench/${bench}: ${Math.round((performance.now() - benchStartedAt) / 1000)} s`);
}
// The budget for the whole run is 6 minutes.
console.error(`\nall benches: ${Math.round((performance.now() - startedAt) / 1000)} s`);
