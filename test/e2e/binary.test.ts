/**
 * Binary smoke: `bun scripts/build.ts` compiles dist/tollgate, which is copied alone into an empty
 * directory and run as a user would: version, init --json, serve, one call through the openai SDK,
 * ledger verify, SIGTERM. Nothing here is skipped: a failed build fails the suite.
 */

import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { chmodSync, copyFileSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import OpenAI from "openai";
import packageJson from "../../package.json";
import { listeningAddress } from "../../src/cli/listening-line.ts";
import { RUNTIME_ENV } from "../../src/cli/runtime-tuning.ts";

const ROOT = join(import.meta.dir, "..", "..");
const BUILD_TIMEOUT_MS = 120_000;
const HEALTH_TIMEOUT_MS = 10_000;
const EXIT_TIMEOUT_MS = 10_000;
const STARTER_GRANT_MICROCENTS = 500_000_000;

let workDir = "";
let binary = "";

/** The environment of every run: the user's, minus anything that would point the binary elsewhere. */
function childEnv(): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [name, value] of Object.entries(process.env)) {
    // No runtime options of the caller's: the binary's own choice is under test.
    if (value !== undefined && name !== "TOLLGATE_CONFIG" && !name.startsWith("MIMALLOC_") && !name.startsWith("BUN_JSC_")) env[name] = value;
  }
  env.TOLLGATE_LOG_LEVEL = "warn";
  return env;
}

interface RunResult {
  exitCode: number;
  stdout: string;
  stderr: string;
}

async function run(args: string[]): Promise<RunResult> {
  const child = Bun.spawn([binary, ...args], { cwd: workDir, env: childEnv(), stdout: "pipe", stderr: "pipe" });
  const timer = setTimeout(() => child.kill("SIGKILL"), EXIT_TIMEOUT_MS);
  try {
    const [exitCode, stdout, stderr] = await Promise.all([
      child.exited,
      new Response(child.stdout).text(),
      new Response(child.stderr).text(),
    ]);
    return { exitCode, stdout, stderr };
  } finally {
    clearTimeout(timer);
  }
}

/** Exit code 0, or a failure that shows what the command printed. */
function expectSuccess(result: RunResult): void {
  expect({ exitCode: result.exitCode, stdout: result.stdout, stderr: result.stderr }).toMatchObject({ exitCode: 0 });
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Resolves with the exit code, or null if the process is still running after `ms`. */
function exitWithin(child: Bun.Subprocess, ms: number): Promise<number | null> {
  return Promise.race([child.exited, sleep(ms).then(() => null)]);
}

/**
 * The address the server reports on its "listening on" line (it binds a port the kernel picks, so no
 * other process can take it first), once /healthz answers there.
 */
async function waitForHealthy(logPath: string, child: Bun.Subprocess): Promise<string> {
  const deadline = Date.now() + HEALTH_TIMEOUT_MS;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`serve exited early with code ${child.exitCode}`);
    const baseUrl = listeningAddress(await Bun.file(logPath).text().catch(() => ""));
    if (baseUrl) {
      const status = await fetch(`${baseUrl}/healthz`).then(
        (response) => response.status,
        () => 0,
      );
      if (status === 200) return baseUrl;
    }
    await sleep(50);
  }
  throw new Error(`serve was not healthy within ${HEALTH_TIMEOUT_MS} ms`);
}

beforeAll(async () => {
  const build = Bun.spawn(["bun", "scripts/build.ts"], { cwd: ROOT, stdout: "pipe", stderr: "pipe" });
  const timer = setTimeout(() => build.kill("SIGKILL"), BUILD_TIMEOUT_MS);
  try {
    const [exitCode, stdout, stderr] = await Promise.all([
      build.exited,
      new Response(build.stdout).text(),
      new Response(build.stderr).text(),
    ]);
    if (exitCode !== 0) throw new Error(`bun scripts/build.ts exited ${exitCode}:\n${stdout}${stderr}`);
  } finally {
    clearTimeout(timer);
  }
  workDir = mkdtempSync(join(tmpdir(), "tollgate-binary-"));
  binary = join(workDir, "tollgate");
  copyFileSync(join(ROOT, "dist", "tollgate"), binary);
  chmodSync(binary, 0o755);
}, BUILD_TIMEOUT_MS + 5_000);

afterAll(() => {
  if (workDir !== "") rmSync(workDir, { recursive: true, force: true });
});

describe("the compiled binary, alone in an empty directory", () => {
  test("version prints the package version and a stamped commit", async () => {
    const result = await run(["version", "--json"]);
    expectSuccess(result);
    const printed = JSON.parse(result.stdout) as { version: string; commit: string };
    expect(printed.version).toBe(packageJson.version);
    expect(printed.commit).not.toBe("dev");
    expect(printed.commit).toMatch(/^([0-9a-f]{4,40}(-dirty)?|unknown)$/);

    const human = await run(["version"]);
    expectSuccess(human);
    expect(human.stdout).toContain(packageJson.version);
    expect(human.stdout).toContain(printed.commit);
  });

  test("init, serve, one chat completion through the openai SDK, ledger verify, SIGTERM", async () => {
    const init = await run(["init", "--json"]);
    expectSuccess(init);
    const keys = JSON.parse(init.stdout) as { config: string; workspace: { name: string }; inference_key: string; management_key: string };
    expect(keys.config).toBe(join(workDir, "tollgate.toml"));
    expect(keys.workspace.name).toBe("default");
    expect(keys.inference_key).toStartWith("tg-live-");

    const logPath = join(workDir, "serve.log");
    const server = Bun.spawn([binary, "serve", "--listen", "127.0.0.1:0"], {
      cwd: workDir,
      env: childEnv(),
      stdout: Bun.file(logPath),
      stderr: Bun.file(join(workDir, "serve.err")),
    });
    try {
      const baseUrl = await waitForHealthy(logPath, server);
      // The binary executed itself again with the memory options (src/cli/runtime-tuning.ts), same pid.
      const environ = readFileSync(`/proc/${server.pid}/environ`, "utf8").split("\u0000");
      for (const [name, value] of Object.entries(RUNTIME_ENV)) expect(environ).toContain(`${name}=${value}`);

      const client = new OpenAI({ baseURL: `${baseUrl}/v1`, apiKey: keys.inference_key, maxRetries: 0, timeout: 10_000 });
      const completion = await client.chat.completions.create({
        model: "claude-sonnet-4-6",
        messages: [{ role: "user", content: "hi" }],
      });
      expect(completion.object).toBe("chat.completion");
      expect(completion.choices[0]?.message.content).toBe("hi");
      expect(completion.choices[0]?.finish_reason).toBe("stop");
      const usage = completion.usage;
      expect(usage?.prompt_tokens).toBeGreaterThan(0);
      expect(usage?.completion_tokens).toBeGreaterThan(0);
      expect(usage?.total_tokens).toBe((usage?.prompt_tokens ?? 0) + (usage?.completion_tokens ?? 0));

      // The answer does not wait for the charge's commit; the management API does, so once it shows the
      // call, the CLI (beside the server, on the same database) finds it charged and the ledger balanced.
      const generation = await fetch(`${baseUrl}/v1/generations/${completion._request_id}`, { headers: { authorization: `Bearer ${keys.management_key}` } });
      expect(generation.status).toBe(200);
      expect(((await generation.json()) as { cost_microcents: number }).cost_microcents).toBeGreaterThan(0);
      const verify = await run(["ledger", "verify", "--json"]);
      expectSuccess(verify);
      const report = JSON.parse(verify.stdout) as { ok: boolean; workspaces: number; entries: number; problems: unknown[] };
      expect(report).toMatchObject({ ok: true, workspaces: 1, problems: [] });
      expect(report.entries).toBeGreaterThanOrEqual(2); // the starter grant and this call's charge
      const wallet = await run(["wallet", "show", "--workspace", "default", "--json"]);
      expectSuccess(wallet);
      const balance = (JSON.parse(wallet.stdout) as { balance_microcents: number }).balance_microcents;
      expect(balance).toBeLessThan(STARTER_GRANT_MICROCENTS);
      expect(balance).toBeGreaterThan(0);

      server.kill("SIGTERM");
      expect(await exitWithin(server, EXIT_TIMEOUT_MS)).toBe(0);
      const log = readFileSync(logPath, "utf8");
      expect(log).toContain(`tollgate listening on ${baseUrl}`);
      expect(log).toContain("tollgate stopped");
    } finally {
      if (server.exitCode === null) server.kill("SIGKILL");
    }
  });

  test("serve under BUN_OPTIONS (Bun's runtime flags for a compiled binary) re-executes with them and serves", async () => {
    const logPath = join(workDir, "serve-options.log");
    const server = Bun.spawn([binary, "serve", "--listen", "127.0.0.1:0"], {
      cwd: workDir,
      env: { ...childEnv(), BUN_OPTIONS: "--smol" },
      stdout: Bun.file(logPath),
      stderr: Bun.file(join(workDir, "serve-options.err")),
    });
    try {
      await waitForHealthy(logPath, server);
      const environ = readFileSync(`/proc/${server.pid}/environ`, "utf8").split("\u0000");
      expect(environ).toContain("BUN_OPTIONS=--smol");
      for (const [name, value] of Object.entries(RUNTIME_ENV)) expect(environ).toContain(`${name}=${value}`);
      server.kill("SIGTERM");
      expect(await exitWithin(server, EXIT_TIMEOUT_MS)).toBe(0);
    } finally {
      if (server.exitCode === null) server.kill("SIGKILL");
    }
  });
});
