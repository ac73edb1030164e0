/** `tollgate serve` runs with the allocator options of src/cli/allocator-tuning.ts, in its own process, unless the operator chose them. */

import { expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { ALLOCATOR_ENV } from "../../src/cli/allocator-tuning.ts";
import { childEnv, serveOnFreePort, useProcessFolder } from "../harness/process.ts";

const folder = useProcessFolder("tollgate-allocator-");

/** The MIMALLOC_ variables of a process, as the kernel holds them for the image it runs now. */
function allocatorEnvOf(pid: number): Record<string, string> {
  const values: Record<string, string> = {};
  for (const entry of readFileSync(`/proc/${pid}/environ`, "utf8").split("\u0000")) {
    const at = entry.indexOf("=");
    if (entry.startsWith("MIMALLOC_") && at > 0) values[entry.slice(0, at)] = entry.slice(at + 1);
  }
  return values;
}

function envWithout(names: readonly string[]): Record<string, string> {
  const env = childEnv();
  for (const name of names) delete env[name];
  return env;
}

test.skipIf(process.platform !== "linux")("serve runs with the allocator options, in the process that was started (same pid)", async () => {
  const server = await serveOnFreePort([], folder.dir, folder.children, envWithout(Object.keys(ALLOCATOR_ENV)));
  expect(allocatorEnvOf(server.child.pid)).toEqual({ ...ALLOCATOR_ENV });
  expect((await fetch(`${server.baseUrl}/healthz`)).status).toBe(200);
  server.child.kill("SIGTERM");
  expect(await server.child.exited).toBe(0);
  expect(await server.stdout).toContain("tollgate stopped");
});

test.skipIf(process.platform !== "linux")("an operator's own MIMALLOC_PURGE_DELAY is kept, and nothing is added", async () => {
  const server = await serveOnFreePort([], folder.dir, folder.children, { ...envWithout(Object.keys(ALLOCATOR_ENV)), MIMALLOC_PURGE_DELAY: "50" });
  expect(allocatorEnvOf(server.child.pid)).toEqual({ MIMALLOC_PURGE_DELAY: "50" });
});
