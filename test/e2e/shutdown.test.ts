/** Graceful shutdown: SIGTERM stops a gateway promptly even after streamed calls (no timer left behind). */

import { afterEach, beforeEach, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { runCli } from "../../src/cli/index.ts";
import { killAll, serveOnFreePort, sleep } from "../harness/process.ts";

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
  const server = await serveOnFreePort(["--config", configPath], dir, children);
  for (const stream of [true, false]) {
    const response = await fetch(`${server.baseUrl}/v1/chat/completions`, {
      method: "POST",
      headers: { authorization: `Bearer ${key}` },
      body: JSON.stringify({ model: "claude-sonnet-4-6", stream, messages: [{ role: "user", content: "hello" }] }),
    });
    // Status and body together, so a failure says what came back.
    expect({ stream, status: response.status, body: response.status === 200 ? "" : await response.text() }).toEqual({ stream, status: 200, body: "" });
    await response.text();
  }
  const stoppedAt = performance.now();
  server.child.kill("SIGTERM");
  const code = await Promise.race([server.child.exited, sleep(3000).then(() => "still running")]);
  const elapsedMs = performance.now() - stoppedAt;
  const output = code === "still running" ? "" : await server.stdout;
  const stderr = code === "still running" ? "" : await server.stderr;
  // One object, so a failure shows the exit, the signal and what the process wrote.
  expect({ code, signal: server.child.signalCode, stopped: output.includes("tollgate stopped"), stderr }).toEqual({
    code: 0,
    signal: null,
    stopped: true,
    stderr: "",
  });
  expect(elapsedMs).toBeLessThan(1000);
}, 20_000);
