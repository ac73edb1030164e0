/** Graceful shutdown: SIGTERM stops a gateway promptly even after streamed calls (no timer left behind). */

import { afterEach, beforeEach, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { runCli } from "../../src/cli/index.ts";
import { freeLoopbackPort, killAll, sleep, startTollgate, waitForHealthy } from "../harness/process.ts";

let dir = "";
const children: Bun.Subprocess[] = [];
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "tollgate-shutdown-"));
});
afterEach(async () => {
  await killAll(children);
  rmSync(dir, { recursive: true, force: true });
});

test("SIGTERM after a streamed and a non-streamed call exits 0 within a second", async () => {
  let stdout = "";
  const configPath = join(dir, "tollgate.toml");
  expect(await runCli(["init", "--config", configPath, "--json"], { stdout: (text) => (stdout += text), stderr: () => {}, env: {}, cwd: dir })).toBe(0);
  const { inference_key: key } = JSON.parse(stdout) as { inference_key: string };
  const port = freeLoopbackPort();
  const baseUrl = `http://127.0.0.1:${port}`;
  const server = startTollgate(["serve", "--config", configPath, "--listen", `127.0.0.1:${port}`], dir, children);
  await waitForHealthy(baseUrl, server);
  for (const stream of [true, false]) {
    const response = await fetch(`${baseUrl}/v1/chat/completions`, {
      method: "POST",
      headers: { authorization: `Bearer ${key}` },
      body: JSON.stringify({ model: "claude-sonnet-4-6", stream, messages: [{ role: "user", content: "hello" }] }),
    });
    expect(response.status).toBe(200);
    await response.text();
  }
  const stoppedAt = performance.now();
  server.child.kill("SIGTERM");
  const code = await Promise.race([server.child.exited, sleep(3000).then(() => "still running")]);
  expect(code).toBe(0);
  expect(performance.now() - stoppedAt).toBeLessThan(1000);
  expect(await server.stdout).toContain("tollgate stopped");
}, 20_000);
