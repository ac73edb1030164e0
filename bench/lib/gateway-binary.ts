/** Which gateway a bench runs: the compiled binary (rebuilt when stale), another binary, or the source. */

import { existsSync, readdirSync, statSync } from "node:fs";
import { join, relative, resolve } from "node:path";
import { BINARY_PATH, buildBinary, currentCommit } from "../../scripts/build.ts";
import { runtimeTuning } from "../../src/cli/runtime-tuning.ts";
import { childEnv } from "./gateway-process.ts";

const ROOT = join(import.meta.dir, "..", "..");

/** Which gateway to run: the compiled binary (built when stale), another binary, or the source (optionally profiled). */
export interface GatewayChoice {
  binary?: string;
  source?: boolean;
  profile?: { dir: string; name: string };
}

export interface GatewayCommand {
  /** The argv prefix that `serve …` or a CLI command is appended to. */
  argv: string[];
  label: string;
  commit: string;
}

function gitShortHead(): string {
  const result = Bun.spawnSync(["git", "rev-parse", "--short", "HEAD"], { cwd: ROOT, stdout: "pipe", stderr: "ignore" });
  return result.exitCode === 0 ? result.stdout.toString().trim() : "unknown";
}

export function binaryCommit(binary: string): string {
  const result = Bun.spawnSync([binary, "version", "--json"], { env: childEnv(), stdout: "pipe", stderr: "pipe", timeout: 10_000 });
  if (result.exitCode !== 0) throw new Error(`${binary} version failed: ${result.stderr.toString()}`);
  return (JSON.parse(result.stdout.toString()) as { commit: string }).commit;
}

function newestMtimeMs(path: string): number {
  const stat = statSync(path);
  if (!stat.isDirectory()) return stat.mtimeMs;
  let newest = stat.mtimeMs;
  for (const entry of readdirSync(path)) newest = Math.max(newest, newestMtimeMs(join(path, entry)));
  return newest;
}

/** Whether dist/tollgate was built from other sources than the working tree's (another commit, or older files). */
function binaryIsStale(binary: string): string | null {
  let built: string;
  try {
    built = binaryCommit(binary).replace(/-dirty$/, "");
  } catch {
    return "it cannot say its version"; // a broken build: build it again
  }
  const head = gitShortHead();
  if (head !== "unknown" && built !== head) return `built from ${built}, HEAD is ${head}`;
  const sourcesMs = Math.max(...["src", "migrations", "package.json", "bun.lock", join("scripts", "bytecode-order.txt")].map((name) => join(ROOT, name)).filter(existsSync).map(newestMtimeMs));
  return sourcesMs > statSync(binary).mtimeMs ? "sources changed after it was built" : null;
}

export async function gatewayCommand(choice: GatewayChoice): Promise<GatewayCommand> {
  if (choice.profile) {
    const { dir, name } = choice.profile;
    // Under the profiler `serve` does not re-execute itself with its memory options (runtime-tuning.ts):
    // given here, as it would have them on this Bun.
    const tuning = runtimeTuning(["bun", "main.ts", "serve"], {}, Bun.version) ?? {};
    const options = Object.entries(tuning).map(([variable, value]) => `${variable}=${value}`);
    const argv = ["env", ...options, "bun", "--cpu-prof", `--cpu-prof-dir=${dir}`, `--cpu-prof-name=${name}`, join(ROOT, "src", "main.ts")];
    return { argv, label: "`bun --cpu-prof src/main.ts` (source)", commit: currentCommit() };
  }
  if (choice.source) return { argv: ["bun", join(ROOT, "src", "main.ts")], label: "`bun src/main.ts` (source)", commit: currentCommit() };
  if (choice.binary !== undefined) {
    const binary = resolve(choice.binary);
    if (!existsSync(binary)) throw new Error(`no binary at ${binary}`);
    return { argv: [binary], label: `\`${relative(ROOT, binary) || binary}\``, commit: binaryCommit(binary) };
  }
  const stale = existsSync(BINARY_PATH) ? binaryIsStale(BINARY_PATH) : "missing";
  if (stale !== null) {
    console.error(`dist/tollgate is ${stale === "missing" ? "missing" : `stale (${stale})`}: building it`);
    const built = await buildBinary();
    console.error(`built ${built.outfile} (commit ${built.commit})`);
  }
  return { argv: [BINARY_PATH], label: `\`${relative(ROOT, BINARY_PATH)}\``, commit: binaryCommit(BINARY_PATH) };
}
