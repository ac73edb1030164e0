/**
 * SPEC §8.5: kill -9 the gateway under load, restart it: no committed ledger entry lost, no hold left,
 * no half-written request, `ledger verify` clean, and the restarted gateway bills on.
 */

import { Database } from "bun:sqlite";
import { expect, test } from "bun:test";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { runCli } from "../../src/cli/index.ts";
import { ROOT, serveOnFreePort, sleep, useProcessFolder } from "../harness/process.ts";

const folder = useProcessFolder("tollgate-crash-");

async function cli(argv: string[]): Promise<{ code: number; stdout: string }> {
  let stdout = "";
  const code = await runCli(argv, { stdout: (text) => (stdout += text), stderr: () => {}, env: {}, cwd: folder.dir });
  return { code, stdout };
}

test("kill -9 under load, restart: ledger verify passes, nothing half-written, no hold stuck", async () => {
  // A slow mock so that many calls are mid-stream at the moment of the kill.
  const config = readFileSync(join(ROOT, "config.example.toml"), "utf8")
    .replace("tokens_per_second = 0", "tokens_per_second = 40")
    .replace("requests_per_minute = 60\n", "requests_per_minute = 100000\n");
  const configPath = join(folder.dir, "tollgate.toml");
  writeFileSync(configPath, config);
  const init = await cli(["init", "--config", configPath, "--json"]);
  expect(init.code).toBe(0);
  const { inference_key: key } = JSON.parse(init.stdout) as { inference_key: string };
  expect((await cli(["wallet", "credit", "--workspace", "default", "--usd", "100", "--config", configPath])).code).toBe(0);

  const first = await serveOnFreePort(["--config", configPath], folder.dir, folder.children);

  const call = (index: number) =>
    fetch(`${first.baseUrl}/v1/chat/completions`, {
      method: "POST",
      headers: { authorization: `Bearer ${key}` },
      body: JSON.stringify({
        model: "claude-sonnet-4-6",
        stream: index % 2 === 0,
        messages: [{ role: "user", content: `call number ${index} says a few words to be echoed back slowly` }],
      }),
    })
      .then((response) => response.text())
      .catch(() => "cut");
  // Waves of calls until some have settled while others are mid-stream; then the process dies.
  const inFlight: Array<Promise<string>> = [];
  const watcher = new Database(join(folder.dir, "tollgate.db"), { readonly: true });
  const settledSoFar = () => (watcher.query("SELECT count(*) AS n FROM requests").get() as { n: number }).n;
  for (let wave = 0; wave < 60 && settledSoFar() < 10; wave++) {
    for (let index = 0; index < 5; index++) inFlight.push(call(wave * 5 + index));
    await sleep(40);
  }
  watcher.close();
  first.child.kill("SIGKILL");
  await first.child.exited;
  const outcomes = await Promise.all(inFlight);
  expect(outcomes.some((text) => text === "cut" || !text.includes("[DONE]"))).toBe(true);

  const database = new Database(join(folder.dir, "tollgate.db"));
  const settled = database.query("SELECT count(*) AS n FROM requests").get() as { n: number };
  const charges = database.query("SELECT count(*) AS n FROM ledger_entries WHERE kind = 'charge'").get() as { n: number };
  database.close();
  expect(settled.n).toBeGreaterThan(0);
  expect(settled.n).toBeLessThan(inFlight.length);
  expect(charges.n).toBe(settled.n);

  const verify = await cli(["ledger", "verify", "--config", configPath, "--json"]);
  expect(JSON.parse(verify.stdout)).toMatchObject({ ok: true, problems: [] });
  expect(verify.code).toBe(0);

  // Restarted: nothing is held, the wallet shows every committed charge, and billing goes on.
  const second = await serveOnFreePort(["--config", configPath], folder.dir, folder.children);
  const after = await fetch(`${second.baseUrl}/v1/chat/completions`, {
    method: "POST",
    headers: { authorization: `Bearer ${key}` },
    body: JSON.stringify({ model: "claude-sonnet-4-6", messages: [{ role: "user", content: "after the crash" }] }),
  });
  expect(after.status).toBe(200);
  await after.text();
  // A graceful stop commits what is still being settled; the CLI then reads the final wallet.
  second.child.kill("SIGTERM");
  expect(await second.child.exited).toBe(0);
  const wallet = JSON.parse((await cli(["wallet", "show", "--workspace", "default", "--json", "--config", configPath])).stdout) as {
    balance_microcents: number;
    held_microcents: number;
  };
  expect(wallet.held_microcents).toBe(0);
  const finalVerify = await cli(["ledger", "verify", "--config", configPath]);
  expect(finalVerify.code).toBe(0);
  const check = new Database(join(folder.dir, "tollgate.db"));
  const total = check.query("SELECT coalesce(sum(amount_microcents), 0) AS s FROM ledger_entries").get() as { s: number };
  const balance = check.query("SELECT balance_microcents AS b FROM workspaces WHERE name = 'default'").get() as { b: number };
  check.close();
  expect(balance.b).toBe(total.s);
  expect(wallet.balance_microcents).toBe(balance.b);
}, 60_000);
