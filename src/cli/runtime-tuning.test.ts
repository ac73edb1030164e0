import { describe, expect, test } from "bun:test";
import { ALLOCATOR_ENV, HEAP_GROWTH_ENV, JIT_ENV, JSC_OPTIONS_BUN_VERSION, reexecArgv, RUNTIME_ENV, runtimeTuning } from "./runtime-tuning.ts";

describe("reexecArgv", () => {
  test("from source: bun, its flags, the script, then the command", () => {
    expect(reexecArgv("/usr/bin/bun", ["--cpu-prof"], ["/usr/bin/bun", "/app/src/main.ts", "serve", "--listen", "127.0.0.1:0"])).toEqual([
      "/usr/bin/bun",
      "--cpu-prof",
      "/app/src/main.ts",
      "serve",
      "--listen",
      "127.0.0.1:0",
    ]);
  });

  test("the compiled binary: its own path, then the command (the virtual entry path is not an argument)", () => {
    expect(reexecArgv("/opt/tollgate", [], ["bun", "/$bunfs/root/tollgate", "serve", "--config", "t.toml"])).toEqual(["/opt/tollgate", "serve", "--config", "t.toml"]);
  });

  test("the compiled binary under BUN_OPTIONS: its runtime flags stay in the environment, not among the arguments", () => {
    expect(reexecArgv("/opt/tollgate", ["--smol"], ["bun", "/$bunfs/root/tollgate", "serve"])).toEqual(["/opt/tollgate", "serve"]);
  });
});

describe("runtimeTuning", () => {
  const argv = (command: string) => ["bun", "/app/src/main.ts", command];
  const verified = JSC_OPTIONS_BUN_VERSION;

  test("serve, with nothing chosen by the operator: every group", () => {
    expect(runtimeTuning(argv("serve"), {}, verified)).toEqual({ ...RUNTIME_ENV });
  });

  test("not for short-lived commands", () => {
    for (const command of ["init", "version", "ledger", "key"]) expect(runtimeTuning(argv(command), {}, verified)).toBeNull();
  });

  test("nothing once the options are set (no loop)", () => {
    expect(runtimeTuning(argv("serve"), { ...RUNTIME_ENV }, verified)).toBeNull();
  });

  test("an operator's variable keeps its whole group as the operator left it; the other groups are still added", () => {
    expect(runtimeTuning(argv("serve"), { MIMALLOC_PURGE_DELAY: "50" }, verified)).toEqual({ ...HEAP_GROWTH_ENV, ...JIT_ENV });
    expect(runtimeTuning(argv("serve"), { MIMALLOC_PURGE_HOLES: "1" }, verified)).toEqual({ ...HEAP_GROWTH_ENV, ...JIT_ENV });
    expect(runtimeTuning(argv("serve"), { BUN_JSC_heapGrowthFunctionThresholdInMB: "0" }, verified)).toEqual({ ...ALLOCATOR_ENV, ...JIT_ENV });
    expect(runtimeTuning(argv("serve"), { BUN_JSC_useConcurrentJIT: "1" }, verified)).toEqual({ ...ALLOCATOR_ENV, ...HEAP_GROWTH_ENV });
    expect(runtimeTuning(argv("serve"), { MIMALLOC_PURGE_DELAY: "50", BUN_JSC_heapGrowthFunctionThresholdInMB: "0", BUN_JSC_useFTLJIT: "1" }, verified)).toBeNull();
  });

  test("the JSC options only on the Bun release they were verified on (an unknown BUN_JSC_ name stops the process)", () => {
    expect(runtimeTuning(argv("serve"), {}, "1.5.0")).toEqual({ ...ALLOCATOR_ENV });
    expect(runtimeTuning(argv("serve"), { ...ALLOCATOR_ENV }, "1.5.0")).toBeNull();
  });

  test("not when the operator opted out with TOLLGATE_NO_REEXEC=1", () => {
    expect(runtimeTuning(argv("serve"), { TOLLGATE_NO_REEXEC: "1" }, verified)).toBeNull();
    expect(runtimeTuning(argv("serve"), { TOLLGATE_NO_REEXEC: "0" }, verified)).toEqual({ ...RUNTIME_ENV });
  });
});

test("package.json pins, and these tests run on, the Bun release the JSC options were verified on", async () => {
  // A Bun upgrade must re-verify the BUN_JSC_ options (and re-measure) before moving the pin.
  const pkg = (await Bun.file(new URL("../../package.json", import.meta.url)).json()) as { engines: { bun: string }; packageManager: string };
  expect(pkg.engines.bun).toBe(JSC_OPTIONS_BUN_VERSION);
  expect(pkg.packageManager).toBe(`bun@${JSC_OPTIONS_BUN_VERSION}`);
  expect(Bun.version).toBe(JSC_OPTIONS_BUN_VERSION);
});
