/** `tollgate serve` runs with the memory options of src/cli/runtime-tuning.ts, in its own process, unless the operator chose them. */

import { expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { ALLOCATOR_ENV, HEAP_GROWTH_ENV, JIT_ENV, RUNTIME_ENV } from "../../src/cli/runtime-tuning.ts";
import { childEnv, serveOnFreePort, useProcessFolder } from "../harness/process.ts";

const folder = useProcessFolder("tollgate-runtime-tuning-");

/** The runtime's memory variables of a process, as the kernel holds them for the image it runs now. */
function tuningEnvOf(pid: number): Record<string, string> {
  const values: Record<string, string> = {};
  for (const entry of readFileSync(`/proc/${pid}/environ`, "utf8").split("\u0000")) {
    const at = entry.indexOf("=");
    if ((entry.startsWith("MIMALLOC_") || entry.startsWith("BUN_JSC_")) && at > 0) values[entry.slice(0, at)] = entry.slice(at + 1);
  }
  return values;
}

function envWithout(names: readonly string[]): Record<string, string> {
  const env = childEnv();
  for (const name of names) delete env[name];
  return env;
}

test.skipIf(process.platform !== "linux")("serve runs with the memory options, in the process that was started (same pid), and serves", async () => {
  const server = await serveOnFreePort([], folder.dir, folder.children, envWithout(Object.keys(RUNTIME_ENV)));
  expect(tuningEnvOf(server.child.pid)).toEqual({ ...RUNTIME_ENV });
  expect((await fetch(`${server.baseUrl}/healthz`)).status).toBe(200);
  server.child.kill("SIGTERM");
  expect(await server.child.exited).toBe(0);
  expect(await server.stdout).toContain("tollgate stopped");
});

test.skipIf(process.platform !== "linux")("an operator's own MIMALLOC_PURGE_DELAY is kept, the allocator group left alone, the heap and JIT groups still added", async () => {
  const server = await serveOnFreePort([], folder.dir, folder.children, { ...envWithout(Object.keys(RUNTIME_ENV)), MIMALLOC_PURGE_DELAY: "50" });
  expect(tuningEnvOf(server.child.pid)).toEqual({ MIMALLOC_PURGE_DELAY: "50", ...HEAP_GROWTH_ENV, ...JIT_ENV });
});

test.skipIf(process.platform !== "linux")("TOLLGATE_NO_REEXEC=1: serve runs as started, with none of the options, and serves", async () => {
  const server = await serveOnFreePort([], folder.dir, folder.children, { ...envWithout(Object.keys(RUNTIME_ENV)), TOLLGATE_NO_REEXEC: "1" });
  expect(tuningEnvOf(server.child.pid)).toEqual({});
  expect((await fetch(`${server.baseUrl}/healthz`)).status).toBe(200);
});

test.skipIf(process.platform !== "linux")("an operator's own BUN_JSC_smallHeapGrowthFactor keeps the heap group as set; the allocator and JIT groups still added", async () => {
  const server = await serveOnFreePort([], folder.dir, folder.children, { ...envWithout(Object.keys(RUNTIME_ENV)), BUN_JSC_smallHeapGrowthFactor: "2" });
  expect(tuningEnvOf(server.child.pid)).toEqual({ BUN_JSC_smallHeapGrowthFactor: "2", ...ALLOCATOR_ENV, ...JIT_ENV });
});

test.skipIf(process.platform !== "linux")("under Bun's sampling profiler serve does not re-execute itself (a pending SIGPWR would kill the new image), says so, and serves", async () => {
  const profiles = `${folder.dir}/profiles`;
  for (let start = 0; start < 3; start++) {
    const server = await serveOnFreePort([], folder.dir, folder.children, envWithout(Object.keys(RUNTIME_ENV)), ["--cpu-prof", `--cpu-prof-dir=${profiles}`]);
    expect(tuningEnvOf(server.child.pid)).toEqual({});
    expect((await fetch(`${server.baseUrl}/healthz`)).status).toBe(200);
    server.child.kill("SIGTERM");
    expect(await server.child.exited).toBe(0);
    expect(await server.stderr).toContain("under a profiler or inspector");
  }
});
