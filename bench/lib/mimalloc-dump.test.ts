import { describe, expect, test } from "bun:test";
import { ALLOCATOR_DUMP_PRELOAD, DUMP_MARKER, dumpsIn, parseMimallocDump } from "./mimalloc-dump.ts";

// Rows as Bun 1.4.4's Bun.unsafe.mimallocDump() prints them (columns: peak, total, current, block, total#).
const TABLE = `subproc 0
 blocks            peak       total     current       block      total#   
  bin S    1  :   209.4 KiB     1.2 MiB   196.5 KiB     8   B     157.7 K    not all freed
  bin M   40  :    18.9 MiB   342.5 MiB    18.3 MiB    16.0 KiB    21.9 K    not all freed
  bin M   42  :    24.0 KiB    24.0 KiB     0          24.0 KiB     1        ok
  bin M   48  :    13.5 MiB   647.8 MiB    -2.1 MiB    64.2 KiB    10.3 K    not all freed

  binned      :    62.5 MiB     2.8 GiB    46.2 Mi                  3.1 M    not all freed
  huge        :     2.6 MiB     2.6 MiB     2.6 Mi                  4        not all freed
  total       :    62.5 MiB     2.8 GiB    48.9 Mi                  3.1 M    
`;

const MIB = 1024 * 1024;

describe("parseMimallocDump", () => {
  test("reads each size class's block size, peak, current bytes and allocations", () => {
    const dump = parseMimallocDump(TABLE);
    expect(dump.bins.map((bin) => `${bin.kind}${bin.bin}`)).toEqual(["S1", "M40", "M42", "M48"]);
    const [small, jsc, empty, buffers] = dump.bins;
    expect(small).toMatchObject({ blockBytes: 8, allocations: 157_700 });
    expect(small?.currentBytes).toBeCloseTo(196.5 * 1024, 6);
    expect(jsc).toMatchObject({ blockBytes: 16 * 1024, allocations: 21_900 });
    expect(jsc?.peakBytes).toBeCloseTo(18.9 * MIB, 6);
    // "0" comes without a unit: the next column is still the block size.
    expect(empty).toMatchObject({ currentBytes: 0, blockBytes: 24 * 1024, allocations: 1 });
    expect(buffers?.currentBytes).toBeCloseTo(-2.1 * MIB, 6);
  });

  test("reads the binned and huge totals, whose units the table cuts to two letters", () => {
    const dump = parseMimallocDump(TABLE);
    expect(dump.binnedBytes).toBeCloseTo(46.2 * MIB, 6);
    expect(dump.hugeBytes).toBeCloseTo(2.6 * MIB, 6);
  });

  test("refuses text with no table, and a row it cannot read", () => {
    expect(() => parseMimallocDump("mimalloc: process init\n")).toThrow(/no size-class table/);
    expect(() => parseMimallocDump("  bin S    1  :   lots of bytes\n")).toThrow(/expected an amount/);
  });

  test("dumpsIn splits a stderr file at the preload's markers", () => {
    const text = `startup noise\n${DUMP_MARKER}\n${TABLE}${DUMP_MARKER}\n${TABLE.replace("46.2 Mi", "40.0 Mi")}`;
    const dumps = dumpsIn(text);
    expect(dumps).toHaveLength(2);
    expect(parseMimallocDump(dumps[1] as string).binnedBytes).toBeCloseTo(40 * MIB, 6);
  });
});

test("the preload makes a real Bun process dump a table parseMimallocDump reads", async () => {
  // Holds 4 MiB in 64 KiB buffers while it signals itself; they must show in the table it prints.
  const script = "const held = Array.from({ length: 64 }, () => new Uint8Array(65536).fill(1)); process.kill(process.pid, 'SIGUSR2'); setTimeout(() => console.log(held.length), 300);";
  const child = Bun.spawn(["bun", "--preload", ALLOCATOR_DUMP_PRELOAD, "-e", script], { stdout: "pipe", stderr: "pipe" });
  const [stdout, stderr, code] = await Promise.all([new Response(child.stdout).text(), new Response(child.stderr).text(), child.exited]);
  expect(code).toBe(0);
  expect(stdout.trim()).toBe("64");
  const dumps = dumpsIn(stderr);
  expect(dumps).toHaveLength(1);
  const dump = parseMimallocDump(dumps[0] as string);
  const buffers = dump.bins.filter((bin) => bin.blockBytes >= 65536 && bin.blockBytes < 96 * 1024).reduce((sum, bin) => sum + bin.currentBytes, 0);
  expect(buffers).toBeGreaterThanOrEqual(4 * 1024 * 1024);
  expect(dump.binnedBytes).toBeGreaterThanOrEqual(buffers);
});
