/** bench/compare.ts's command line and the constants of its scenarios. */

import { join } from "node:path";
import { parseArgs } from "node:util";
import { integerFlag } from "../lib/flags.ts";
import { parseEnvAssignments } from "../lib/gateway-process.ts";
import { mockAnswer } from "../lib/mock-upstream.ts";

export const ROOT = join(import.meta.dir, "..", "..");
export const SECTION = "Comparison with the floor and a peer";
export const COMMAND = "bun bench/compare.ts --write";

export const { values: flags } = parseArgs({
  args: process.argv.slice(2),
  options: {
    write: { type: "boolean", default: false },
    /**
     * Throughput rounds at zero upstream latency. Four 1 s cells a target rather than two of 2 s: one
     * round that the shared machine slowed for one target moved a two-round median (a mean) by up to 0.06×
     * the floor; the median of four paired rounds lets it go.
     */
    rounds: { type: "string", default: "4" },
    /** wrk seconds per throughput cell (whole seconds). */
    seconds: { type: "string", default: "1" },
    /** Rounds with the 50 ms upstream (the upstream caps those rates: two agree). */
    "slow-rounds": { type: "string", default: "2" },
    /** Rounds that also measure latency at 1 connection (the first ones). */
    "latency-rounds": { type: "string", default: "2" },
    /** The same with the 50 ms upstream (bounded by 128 ÷ 50 ms: steady within a second). */
    "slow-seconds": { type: "string", default: "1" },
    /** wrk seconds per concurrency-1 latency cell. */
    "latency-seconds": { type: "string", default: "1" },
    /** Long enough for the JIT to settle: after 1 s, Tollgate's first scenario still ran ~15 % slower. */
    "warmup-seconds": { type: "string", default: "3" },
    "ttfb-calls": { type: "string", default: "300" },
    /** Time-to-first-byte calls per target with the 50 ms upstream (each takes 50 ms). */
    "ttfb-calls-slow": { type: "string", default: "15" },
    tokens: { type: "string", default: "256" },
    "cold-starts": { type: "string", default: "5" },
    "profile-seconds": { type: "string", default: "2" },
    "skip-portkey": { type: "boolean", default: false },
    "skip-profile": { type: "boolean", default: false },
    /** Keep the .cpuprofile files in this folder (else they go with the run's temporary folder). */
    "profile-dir": { type: "string" },
    /** Only the CPU profile (no comparison; nothing is written to the doc). */
    "only-profile": { type: "boolean", default: false },
    binary: { type: "string" },
    /** Only these scenarios (comma-separated ids, e.g. `openai,openai-stream`), to iterate; not with --write. */
    only: { type: "string" },
    /** Extra environment for Tollgate only (`NAME=VALUE,NAME=VALUE`), to try a runtime option; not with --write. */
    "gateway-env": { type: "string" },
  },
  strict: true,
});
if (flags.only !== undefined && flags.write) throw new Error("--only measures part of the table: it cannot --write");
if (flags["gateway-env"] !== undefined && flags.write) throw new Error("--gateway-env measures another configuration: it cannot --write");

/** Tollgate's extra environment from --gateway-env. */
export const GATEWAY_ENV: Record<string, string> = parseEnvAssignments("gateway-env", flags["gateway-env"] ?? "");

function intFlag(name: keyof typeof flags, min: number, max: number): number {
  return integerFlag(name, String(flags[name]), min, max);
}

export const ROUNDS = intFlag("rounds", 1, 20);
export const SLOW_ROUNDS = intFlag("slow-rounds", 1, 20);
export const LATENCY_ROUNDS = intFlag("latency-rounds", 1, 20);
export const SECONDS = intFlag("seconds", 1, 60);
export const SLOW_SECONDS = intFlag("slow-seconds", 1, 60);
export const LATENCY_SECONDS = intFlag("latency-seconds", 1, 60);
export const WARMUP_SECONDS = intFlag("warmup-seconds", 1, 60);
export const TTFB_CALLS = intFlag("ttfb-calls", 1, 10_000);
export const TTFB_CALLS_SLOW = intFlag("ttfb-calls-slow", 1, 10_000);
export const TOKENS = intFlag("tokens", 1, 100_000);
export const COLD_STARTS = intFlag("cold-starts", 1, 50);
export const PROFILE_SECONDS = intFlag("profile-seconds", 1, 60);
export const ANSWER = mockAnswer(TOKENS);

export const CONNECTIONS = 32;
export const SLOW_MS = 50;
export const SLOW_CONNECTIONS = 128;
export const MAX_TOKENS = 1024;
export const ANTHROPIC_VERSION = "2023-06-01";
export const MODEL_FAST = "m-fast";
export const MODEL_SLOW = "m-slow";

