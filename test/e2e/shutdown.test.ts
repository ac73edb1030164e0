/** Graceful shutdown: SIGTERM stops a gateway promptly even after streamed calls (no timer left behind). */

import { expect, test } from "bun:test";
import { join } from "node:path";
import { runCli } from "../../src/cli/index.ts";
import { serveOnFreePort, sleep, useProcessFolder } from "../harness/process.ts";

const folder = useProcessFolder("tollgate-shutdown-");

test("SIGTERM after a streamed and a non-streamed call exits 0 within a second", async () => {
  let stdout = "";
  const configPath = join(folder.dir, "tollgate.toml");
  expect(await runCli(["init", "--config", configPath, "--json"], { stdout: (text) => (stdout += text), stderr: () => {}, env: {}, cwd: folder.dir })).toBe(0);
  const { inference_key: key } = JSON.parse(stdout) as { inference_key: string };
  const server = await serveOnFreePort(["--config", configPath], folder.dir, folder.children);
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
