/**
 * Bun's allocator statistics (`Bun.unsafe.mimallocDump()`: mimalloc's per-size-class table for the whole
 * process, JavaScriptCore's heap included) taken from a running bench target: a preload installs a SIGUSR2
 * handler that writes a marker line and then the table to stderr, and `parseMimallocDump` reads a table back.
 */

import { join } from "node:path";

/** Preload it (`BUN_OPTIONS=--preload <path>`) into a process to have it dump on SIGUSR2. */
export const ALLOCATOR_DUMP_PRELOAD = join(import.meta.dir, "allocator-dump-preload.ts");
/** The line the preload writes before each dump. */
export const DUMP_MARKER = "=== tollgate-bench allocator dump";

/** One size class: blocks of `blockBytes` (mimalloc's "bin"). */
export interface MimallocBin {
  /** S(mall), M(edium) or L(arge) page kind. */
  kind: "S" | "M" | "L";
  bin: number;
  blockBytes: number;
  /** Most bytes held at once, since the process started. */
  peakBytes: number;
  /** Bytes held now; each thread's counts are merged in at intervals, so a bin can read a little off (even below zero). */
  currentBytes: number;
  /** Blocks ever allocated. */
  allocations: number;
}

export interface MimallocDump {
  bins: MimallocBin[];
  /** Bytes held now in binned blocks and in huge (own-segment) allocations. */
  binnedBytes: number;
  hugeBytes: number;
}

const BYTE_UNITS: Record<string, number> = { B: 1, Ki: 1024, KiB: 1024, Mi: 1024 ** 2, MiB: 1024 ** 2, Gi: 1024 ** 3, GiB: 1024 ** 3 };
const COUNT_UNITS: Record<string, number> = { K: 1e3, M: 1e6, G: 1e9 };

/** Reads amounts off a row's columns: a number, then its unit when it has one ("0" has none). */
class Columns {
  private at = 0;
  constructor(private readonly tokens: readonly string[]) {}

  private amount(units: Record<string, number>, row: string): number {
    const text = this.tokens[this.at++];
    const value = Number(text);
    if (text === undefined || !Number.isFinite(value)) throw new Error(`mimalloc dump: expected an amount in '${row}'`);
    const unit = this.tokens[this.at];
    if (unit !== undefined && Object.hasOwn(units, unit)) {
      this.at++;
      return value * (units[unit] as number);
    }
    return value;
  }

  bytes(row: string): number {
    return this.amount(BYTE_UNITS, row);
  }

  count(row: string): number {
    return this.amount(COUNT_UNITS, row);
  }
}

const BIN_ROW = /^\s*bin ([SML])\s+(\d+)\s*:\s*(.*)$/;
const TOTAL_ROW = /^\s*(binned|huge)\s*:\s*(.*)$/;

/** The first dump in `text` (a table as `Bun.unsafe.mimallocDump()` prints it); throws on a table it cannot read. */
export function parseMimallocDump(text: string): MimallocDump {
  const bins: MimallocBin[] = [];
  let binnedBytes: number | null = null;
  let hugeBytes: number | null = null;
  for (const row of text.split("\n")) {
    const bin = BIN_ROW.exec(row);
    if (bin) {
      // peak, total, current, block size, count of blocks allocated.
      const columns = new Columns((bin[3] as string).trim().split(/\s+/));
      const peakBytes = columns.bytes(row);
      columns.bytes(row);
      const currentBytes = columns.bytes(row);
      const blockBytes = columns.bytes(row);
      const allocations = columns.count(row);
      bins.push({ kind: bin[1] as MimallocBin["kind"], bin: Number(bin[2]), blockBytes, peakBytes, currentBytes, allocations });
      continue;
    }
    const total = TOTAL_ROW.exec(row);
    if (total) {
      const columns = new Columns((total[2] as string).trim().split(/\s+/));
      columns.bytes(row);
      columns.bytes(row);
      const current = columns.bytes(row);
      if (total[1] === "binned") binnedBytes ??= current;
      else hugeBytes ??= current;
      if (binnedBytes !== null && hugeBytes !== null) break;
    }
  }
  if (bins.length === 0 || binnedBytes === null || hugeBytes === null) throw new Error("mimalloc dump: no size-class table with its binned and huge totals");
  return { bins, binnedBytes, hugeBytes };
}

/** The dumps the preload wrote into a stderr file's `text`, each from its marker on. */
export function dumpsIn(text: string): string[] {
  return text.split(`${DUMP_MARKER}\n`).slice(1);
}
