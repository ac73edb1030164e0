/**
 * The CLI as a process (`bun src/main.ts …`): what only a real process shows — exit codes through
 * process.exitCode, an unwritable database, a busy port, `serve` answering, honouring a revocation made
 * by another process within key_cache_ttl_ms, and stopping cleanly on SIGTERM. Loopback only.
 */

import { Database } from "bun:sqlite";
import { describe, expect, test } from "bun:test";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { runCli } from "../../src/cli/index.ts";
import { hashKey } from "../../src/keys/keys.ts";
import { freeLoopbackPort, ROOT, serveOnFreePort, sleep, type Started, startTollgate, useProcessFolder, waitForHealthy as waitForHealthyWithin } from "../harness/process.ts";

const EXAMPLE_TOML = readFileSync(join(ROOT, "config.example.toml"), "utf8");
const EXIT_TIMEOUT_MS = 10_000;
const HEALTH_TIMEOUT_MS = 5_000;
const REVOKE_TIMEOUT_MS = 2_000;
const KEY_CACHE_TTL_MS = 200;

const folder = useProcessFolder("tollgate-cli-process-");

function start(args: string[]): Started {
  return startTollgate(args, folder.dir, folder.children);
}

/** The exit code, or a failure if the process is still running after EXIT_TIMEOUT_MS (it is then killed after the test). */
async function exitOf(started: Started): Promise<{ code: number; stdout: string; stderr: string }> {
  const code = await Promise.race([started.child.exited, sleep(EXIT_TIMEOUT_MS).then(() => null)]);
  if (code === null) throw new Error(`process did not exit within ${EXIT_TIMEOUT_MS} ms`);
  return { code, stdout: await started.stdout, stderr: await started.stderr };
}

function run(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return exitOf(start(args));
}

async function waitForHealthy(baseUrl: string, started: Started): Promise<void> {
  await waitForHealthyWithin(baseUrl, started, HEALTH_TIMEOUT_MS);
}

function writeConfig(replacements: Array<[RegExp, string]>): string {
  let text = EXAMPLE_TOML;
  for (const [pattern, line] of replacements) {
    const next = text.replace(pattern, line);
    expect(next).not.toBe(text);
    text = next;
  }
  const path = join(folder.dir, "tollgate.toml");
  writeFileSync(path, text);
  return path;
}

function chat(baseUrl: string, key: string): Promise<number> {
  return fetch(`${baseUrl}/v1/chat/completions`, {
    method: "POST",
    headers: { authorization: `Bearer ${key}`, "content-type": "application/json" },
    body: JSON.stringify({ model: "claude-haiku-4-5", messages: [{ role: "user", content: "ping" }] }),
  }).then(async (response) => {
    await response.arrayBuffer();
    return response.status;
  });
}

describe("tollgate as a process", () => {
  test("a database under a regular file → migrate exits 1: cannot open database", async () => {
    writeFileSync(join(folder.dir, "afile"), "not a directory");
    const database = join(folder.dir, "afile", "sub", "x.db");
    const config = writeConfig([[/^database = .*$/m, `database = "${database}"`]]);
    const result = await run(["migrate", "--config", config]);
    expect(result.code).toBe(1);
    expect(result.stdout).toBe("");
    expect(result.stderr).toContain(`cannot open database ${database}`);
    expect(result.stderr).not.toContain("unexpected error");
  });

  test("serve on a port that is already taken → exit 1: the address is already in use", async () => {
    const occupant = Bun.serve({ hostname: "127.0.0.1", port: 0, fetch: () => new Response("occupant") });
    try {
      const result = await run(["serve", "--listen", `127.0.0.1:${occupant.port}`]);
      expect(result.code).toBe(1);
      expect(result.stderr).toContain(`cannot listen on 127.0.0.1:${occupant.port}: the address is already in use`);
      expect(result.stdout).not.toContain("tollgate listening");
      expect(await (await fetch(`http://127.0.0.1:${occupant.port}/`)).text()).toBe("occupant");
    } finally {
      occupant.stop(true);
    }
  });

  test("serve: answers, refuses a second gateway on its port, honours a CLI revocation, stops on SIGTERM", async () => {
    const init = await runCliJson<{ config: string; database: string; inference_key: string; management_key: string }>(["init", "--json"]);
    const port = freeLoopbackPort();
    const baseUrl = `http://127.0.0.1:${port}`;
    writeConfig([
      [/^listen = .*$/m, `listen = "127.0.0.1:${port}"`],
      [/^key_cache_ttl_ms = .*$/m, `key_cache_ttl_ms = ${KEY_CACHE_TTL_MS}`],
    ]);
    const server = start(["serve", "--config", init.config]);
    await waitForHealthy(baseUrl, server);
    expect(await chat(baseUrl, init.inference_key)).toBe(200);

    // A second gateway must not silently share the port (SO_REUSEPORT).
    const second = await run(["serve", "--config", init.config]);
    expect(second.code).toBe(1);
    expect(second.stderr).toContain("the address is already in use");

    const keyId = keyIdOf(init.database, init.inference_key);
    const revoke = await run(["key", "revoke", keyId, "--config", init.config]);
    expect(revoke.code).toBe(0);
    const revokedAt = Date.now();
    let status = 200;
    while (status !== 401 && Date.now() - revokedAt < REVOKE_TIMEOUT_MS) {
      status = await chat(baseUrl, init.inference_key);
      if (status !== 401) await sleep(25);
    }
    expect(status).toBe(401);
    expect(Date.now() - revokedAt).toBeLessThan(REVOKE_TIMEOUT_MS);

    server.child.kill("SIGTERM");
    const stopped = await exitOf(server);
    expect(stopped.code).toBe(0);
    expect(stopped.stdout).toContain(`tollgate listening on ${baseUrl}`);
    expect(stopped.stdout).toContain("tollgate stopped");
    // The one call was settled before the database closed.
    const verify = await run(["ledger", "verify", "--json", "--config", init.config]);
    expect(verify.code).toBe(0);
    expect(JSON.parse(verify.stdout)).toMatchObject({ ok: true, entries: 2 });
  });

  test("serve with no config in an empty folder runs on the built-in demo config and says so", async () => {
    const server = await serveOnFreePort([], folder.dir, folder.children);
    server.child.kill("SIGTERM");
    const stopped = await exitOf(server);
    expect(stopped.code).toBe(0);
    expect(stopped.stdout).toContain(`no config file found: running on the built-in demo config (mock provider, SQLite at ${join(folder.dir, "tollgate.db")})`);
    expect(stopped.stdout).toContain("(config: demo)");
    expect(stopped.stdout).toMatch(/inference key: +tg-live-[A-Za-z0-9_-]{43}\n/);
    expect(existsSync(join(folder.dir, "tollgate.db"))).toBe(true);
    expect(existsSync(join(folder.dir, "tollgate.toml"))).toBe(false);
  });
});

/** Setup that needs no process of its own: `runCli` in-process on the same folder. */
async function runCliJson<T>(argv: string[]): Promise<T> {
  let stdout = "";
  const code = await runCli(argv, {
    stdout: (text) => {
      stdout += text;
    },
    stderr: () => {},
    env: {},
    cwd: folder.dir,
  });
  expect(code).toBe(0);
  return JSON.parse(stdout) as T;
}

function keyIdOf(databasePath: string, key: string): string {
  const sqlite = new Database(databasePath, { readonly: true });
  try {
    const row = sqlite.query<{ id: string }, [string]>("SELECT id FROM keys WHERE hash = ?").get(hashKey(key));
    if (!row) throw new Error("the init inference key is not in the database");
    return row.id;
  } finally {
    sqlite.close();
  }
}
