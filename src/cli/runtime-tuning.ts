/**
 * Memory options for `tollgate serve` that Bun reads from the environment only when the process starts,
 * so `serve` executes itself again once (execve: same pid, no second process) with them set, before
 * anything else runs. Three groups, each measured in docs/benchmarks.md:
 *
 * - allocator: Bun's mimalloc (shared with JavaScriptCore) hands the free parts of its large pages
 *   (buffers of 96 KiB and up) back to the OS between requests and purges freed pages after 100 ms; a
 *   gateway streaming answers then faults its buffers in again on every call. With these options it
 *   spends 20–49 % less CPU per streamed call and holds ~40 MB more at its peak (`bun
 *   bench/runtime-options.ts --allocator`). Freed memory still goes back to the OS a second after it was freed.
 * - heap growth: on a machine with 16 GB of RAM or more, JavaScriptCore lets its heap grow to a multiple
 *   of what survived the last collection (its "heap growth function"), and every request's native state
 *   (fetch and server buffers, released when the GC collects their JS objects) waits that much longer.
 *   Raising the function's RAM threshold out of reach keeps JSC's classic growth factors (2× while the
 *   heap is under a quarter of RAM), and the first of them is lowered to 1.75×: about 85 MB less peak RSS
 *   under 32 streams, CPU per request −3 % to +9 %, within the noise (`bun bench/runtime-options.ts
 *   --heap-growth`; the threshold alone saved 45–63 MB; a factor of 1.5 cost CPU).
 * - JIT: JavaScriptCore's top tier (FTL) off, and its baseline and DFG compiles run on the thread that
 *   runs the code instead of on helper threads. An FTL compile allocates megabytes that the idle compiler
 *   threads then keep, and it maps in the compiler's own code; a gateway's hot path is short calls
 *   that DFG code serves as well. 19 MB less peak RSS in `bun bench/runtime-options.ts --jit`, and
 *   135–141 → 115–120 MB over three of the comparison's scenarios (README), CPU per request within the noise.
 *
 * JSC options are not a stable API and an unknown BUN_JSC_ name stops the process at start, so the two
 * JSC groups are set only on the Bun release they were verified on.
 *
 * An operator who sets any variable of a group keeps their own values for that group, untouched;
 * TOLLGATE_NO_REEXEC=1 skips the re-execution (a sandbox whose seccomp policy kills on execve).
 */

import { createLogger, messageOf } from "../lib/log.ts";

export const ALLOCATOR_ENV: Readonly<Record<string, string>> = {
  MIMALLOC_PURGE_HOLES: "0",
  MIMALLOC_PURGE_DELAY: "1000",
};

/**
 * A threshold of 1 TiB: no machine reaches it, so JSC keeps its classic heap growth factors; and the
 * first of them (a heap under a quarter of RAM) at 1.75 instead of 2.
 */
export const HEAP_GROWTH_ENV: Readonly<Record<string, string>> = {
  BUN_JSC_heapGrowthFunctionThresholdInMB: "1048576",
  BUN_JSC_smallHeapGrowthFactor: "1.75",
};

/** FTL off; baseline and DFG compiles on the JavaScript thread, so no compiler thread keeps what a compile allocated. */
export const JIT_ENV: Readonly<Record<string, string>> = {
  BUN_JSC_useFTLJIT: "0",
  BUN_JSC_useConcurrentJIT: "0",
};

/** The Bun release whose JavaScriptCore has the JSC options above (package.json pins it; runtime-tuning.test.ts checks both agree). */
export const JSC_OPTIONS_BUN_VERSION = "1.4.4";

/** Every option `serve` gives itself on the verified Bun release (what a comparable process needs to be tuned alike). */
export const RUNTIME_ENV: Readonly<Record<string, string>> = { ...ALLOCATOR_ENV, ...HEAP_GROWTH_ENV, ...JIT_ENV };

/**
 * The argv that runs this same command again. The compiled binary adds its own argv[1] (a virtual path),
 * and takes runtime flags only from `BUN_OPTIONS`, which the new image inherits: its execArgv (those
 * flags) passed as arguments would be read as the command (`BUN_OPTIONS=--smol tollgate serve` failed).
 */
export function reexecArgv(execPath: string, execArgv: readonly string[], argv: readonly string[]): string[] {
  if (argv[1]?.startsWith("/$bunfs/") === true) return [execPath, ...argv.slice(2)];
  return [execPath, ...execArgv, ...argv.slice(1)];
}

/**
 * The variables `serve` should add before it runs (the groups the operator left wholly unset), or null
 * when there is nothing to add: another command, an opt-out, or a process already tuned (no loop).
 */
export function runtimeTuning(argv: readonly string[], env: NodeJS.ProcessEnv, bunVersion: string): Record<string, string> | null {
  if (argv[2] !== "serve" || env.TOLLGATE_NO_REEXEC === "1") return null;
  const groups = bunVersion === JSC_OPTIONS_BUN_VERSION ? [ALLOCATOR_ENV, HEAP_GROWTH_ENV, JIT_ENV] : [ALLOCATOR_ENV];
  const added: Record<string, string> = {};
  for (const group of groups) {
    if (Object.keys(group).every((name) => env[name] === undefined)) Object.assign(added, group);
  }
  return Object.keys(added).length === 0 ? null : added;
}

/**
 * Runtime flags under which `serve` keeps the process it was started in: the CPU profiler's sampling
 * thread suspends the main thread with SIGPWR every millisecond, and a signal still pending at execve is
 * delivered to the new image before Bun installs its handler, and kills it (a quarter of `bun --cpu-prof
 * src/main.ts serve` starts did); a heap profile or an inspector session would not survive the new image.
 */
const SIGNALLING_RUNTIME_FLAG = /^--(?:cpu-prof|heap-prof|inspect)/;

/** Re-executes `tollgate serve` with the runtime options; returns (and runs untuned) where it cannot. */
export function execWithRuntimeTuning(): void {
  if (process.platform === "win32" || typeof process.execve !== "function") return;
  const added = runtimeTuning(process.argv, process.env, Bun.version);
  if (added === null) return;
  if (process.execArgv.some((flag) => SIGNALLING_RUNTIME_FLAG.test(flag))) {
    createLogger("warn").warn("running with Bun's default memory options under a profiler or inspector: set them in the environment to have them", {
      options: Object.entries(added)
        .map(([name, value]) => `${name}=${value}`)
        .join(" "),
    });
    return;
  }
  // Where execve is refused, Bun also prints its "experimental" warning (two plain lines on stderr): it
  // does not go through process.emitWarning, so it cannot be kept out of the log stream.
  try {
    process.execve(process.execPath, reexecArgv(process.execPath, process.execArgv, process.argv), { ...process.env, ...added });
  } catch (error) {
    // execve refused (a sandbox, say): the gateway runs with Bun's defaults, only slower and larger.
    createLogger("warn").warn("running with Bun's default memory options: execve failed", { error: messageOf(error) });
  }
}
