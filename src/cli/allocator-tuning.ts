/**
 * Allocator options for `tollgate serve`. Bun's allocator (mimalloc, shared with JavaScriptCore) hands
 * the free parts of its large pages (buffers of 96 KiB and up) back to the OS between requests ("hole
 * purging") and purges freed pages after 100 ms; a gateway streaming answers then faults its buffers in
 * again on every call: with these options it spends 28–49 % less CPU per streamed call, and holds more
 * memory at its peak (`bun bench/translation.ts --allocator`, docs/benchmarks.md "Allocator options"). mimalloc reads its options from
 * the environment when the process starts, so `serve` executes itself again once (execve: same pid, no
 * second process) with them set, before anything else runs. Memory still goes back to the OS a second
 * after it was freed. An operator who sets either variable keeps their own values, untouched;
 * TOLLGATE_NO_REEXEC=1 skips the re-execution (a sandbox whose seccomp policy kills on execve).
 */

import { createLogger, messageOf } from "../lib/log.ts";

export const ALLOCATOR_ENV: Readonly<Record<string, string>> = {
  MIMALLOC_PURGE_HOLES: "0",
  MIMALLOC_PURGE_DELAY: "1000",
};

/** The argv that runs this same command again: the compiled binary's own argv[1] is a virtual path it adds itself. */
export function reexecArgv(execPath: string, execArgv: readonly string[], argv: readonly string[]): string[] {
  const compiled = argv[1]?.startsWith("/$bunfs/") === true;
  return [execPath, ...execArgv, ...(compiled ? [] : argv.slice(1, 2)), ...argv.slice(2)];
}

/** Whether `serve` should re-execute itself with ALLOCATOR_ENV (not when the operator chose any of it, or opted out). */
export function wantsAllocatorTuning(argv: readonly string[], env: NodeJS.ProcessEnv): boolean {
  if (argv[2] !== "serve" || env.TOLLGATE_NO_REEXEC === "1") return false;
  return Object.keys(ALLOCATOR_ENV).every((name) => env[name] === undefined);
}

/** Re-executes `tollgate serve` with the allocator options; returns (and runs untuned) where it cannot. */
export function execWithAllocatorTuning(): void {
  if (!wantsAllocatorTuning(process.argv, process.env) || process.platform === "win32" || typeof process.execve !== "function") return;
  // Where execve is refused, Bun also prints its "experimental" warning (two plain lines on stderr): it
  // does not go through process.emitWarning, so it cannot be kept out of the log stream.
  try {
    process.execve(process.execPath, reexecArgv(process.execPath, process.execArgv, process.argv), { ...process.env, ...ALLOCATOR_ENV });
  } catch (error) {
    // execve refused (a sandbox, say): the gateway runs with Bun's defaults, only slower.
    createLogger("warn").warn("running with Bun's default allocator options: execve failed", { error: messageOf(error) });
  }
}
