/**
 * `bun run build`: compiles src/main.ts into the self-contained executable dist/tollgate (minified, with
 * bytecode for a faster cold start, laid out by scripts/bytecode-order.txt) and stamps the git commit into
 * `tollgate version`.
 */

import { existsSync, statSync } from "node:fs";
import { join } from "node:path";

const ROOT = join(import.meta.dir, "..");
export const BINARY_PATH = join(ROOT, "dist", "tollgate");
/**
 * Which functions a serving gateway runs (`bun run build:order` records it): the bytecode they use goes
 * together at the front of the executable: a gateway touches ~1.7 MB fewer of its pages, idle and after
 * calls, and starts in 94 instead of 100–105 ms (medians; `bun bench/cold-start.ts --binary` on a build
 * with it and one with `--no-bytecode-order`, two alternating runs each). Built without it where it is missing.
 */
export const BYTECODE_ORDER_PATH = join(ROOT, "scripts", "bytecode-order.txt");
/**
 * JavaScriptCore's tier-up thresholds are multiplied by this until `serve` calls
 * `Bun.unsafe.setJITPolicy(1)` once it listens: run-once start-up code then stays in the interpreter
 * instead of keeping JIT threads busy. On the 2-CPU bench machine this cut JIT-thread CPU before the
 * first 200 from ~100 ms to ~30 ms and, in interleaved runs, the median cold start from 226 to 149 ms
 * (4 gave 160 ms). Request handling after `listen` runs at the normal policy.
 */
const START_JIT_POLICY = 8;

export interface BuildOptions {
  outfile?: string;
  /** Bytecode compiles the bundle ahead of time; off only to compare its effect. */
  bytecode?: boolean;
  /** Lay the bytecode out by BYTECODE_ORDER_PATH (when it exists); off only to compare its effect. */
  bytecodeOrder?: boolean;
}

export interface BuildResult {
  outfile: string;
  commit: string;
  sizeBytes: number;
}

function git(args: string[]): { ok: boolean; stdout: string } {
  try {
    const result = Bun.spawnSync(["git", ...args], { cwd: ROOT, stdout: "pipe", stderr: "pipe" });
    return { ok: result.exitCode === 0, stdout: result.stdout.toString().trim() };
  } catch {
    return { ok: false, stdout: "" }; // git is not installed
  }
}

/** The short commit, `-dirty` when tracked or untracked (non-ignored) files differ from it; "unknown" without git. */
export function currentCommit(): string {
  const head = git(["rev-parse", "--short", "HEAD"]);
  if (!head.ok || head.stdout === "") return "unknown";
  const status = git(["status", "--porcelain"]);
  return status.ok && status.stdout !== "" ? `${head.stdout}-dirty` : head.stdout;
}

export async function buildBinary(options: BuildOptions = {}): Promise<BuildResult> {
  const outfile = options.outfile ?? BINARY_PATH;
  const commit = currentCommit();
  const result = await Bun.build({
    // Worker threads are entrypoints of their own: a compiled binary loads a Worker only from its own bundle.
    entrypoints: [join(ROOT, "src", "main.ts"), join(ROOT, "src", "billing", "settlement-worker.ts")],
    target: "bun",
    format: "esm",
    splitting: true,
    minify: true,
    bytecode: options.bytecode ?? true,
    define: {
      TOLLGATE_COMMIT: JSON.stringify(commit),
      TOLLGATE_SETTLEMENT_WORKER: JSON.stringify("./billing/settlement-worker.ts"),
    },
    // The gateway's behaviour comes from its TOML config, not from a bunfig.toml in the working directory.
    compile: { outfile, autoloadBunfig: false, jitPolicy: START_JIT_POLICY, bytecodeOrder: (options.bytecode ?? true) && (options.bytecodeOrder ?? true) && existsSync(BYTECODE_ORDER_PATH) && BYTECODE_ORDER_PATH },
    throw: false,
  });
  if (!result.success) {
    const messages = result.logs.map((log) => String(log)).join("\n");
    throw new Error(`bun build --compile failed:\n${messages}`);
  }
  return { outfile, commit, sizeBytes: statSync(outfile).size };
}

if (import.meta.main) {
  const bytecode = !process.argv.includes("--no-bytecode");
  const bytecodeOrder = !process.argv.includes("--no-bytecode-order");
  const outfileAt = process.argv.indexOf("--outfile");
  const outfile = outfileAt > 0 ? process.argv[outfileAt + 1] : undefined;
  try {
    const built = await buildBinary({ bytecode, bytecodeOrder, ...(outfile === undefined ? {} : { outfile }) });
    const megabytes = (built.sizeBytes / 1_048_576).toFixed(1);
    const notes = [bytecode ? "" : ", no bytecode", bytecodeOrder ? "" : ", no bytecode order"].join("");
    console.log(`built ${built.outfile} (${megabytes} MB, commit ${built.commit}${notes})`);
  } catch (error) {
    console.error(error instanceof Error ? error.message : String(error));
    process.exit(1);
  }
}
