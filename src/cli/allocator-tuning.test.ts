import { describe, expect, test } from "bun:test";
import { ALLOCATOR_ENV, reexecArgv, wantsAllocatorTuning } from "./allocator-tuning.ts";

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
});

describe("wantsAllocatorTuning", () => {
  const argv = (command: string) => ["bun", "/app/src/main.ts", command];

  test("serve, with nothing chosen by the operator", () => {
    expect(wantsAllocatorTuning(argv("serve"), {})).toBe(true);
  });

  test("not for short-lived commands", () => {
    for (const command of ["init", "version", "ledger", "key"]) expect(wantsAllocatorTuning(argv(command), {})).toBe(false);
  });

  test("not once the options are set (no loop), nor when the operator set either", () => {
    expect(wantsAllocatorTuning(argv("serve"), { ...ALLOCATOR_ENV })).toBe(false);
    expect(wantsAllocatorTuning(argv("serve"), { MIMALLOC_PURGE_DELAY: "50" })).toBe(false);
    expect(wantsAllocatorTuning(argv("serve"), { MIMALLOC_PURGE_HOLES: "1" })).toBe(false);
  });

  test("not when the operator opted out with TOLLGATE_NO_REEXEC=1", () => {
    expect(wantsAllocatorTuning(argv("serve"), { TOLLGATE_NO_REEXEC: "1" })).toBe(false);
    expect(wantsAllocatorTuning(argv("serve"), { TOLLGATE_NO_REEXEC: "0" })).toBe(true);
  });
});
