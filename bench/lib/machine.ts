/** What a benchmark ran on: CPU count and model, memory, Bun version, date (for docs/benchmarks.md). */

import { availableParallelism } from "node:os";
import { readFileSync } from "node:fs";

export interface Machine {
  cpus: number;
  cpuModel: string;
  memoryGb: number;
  bunVersion: string;
  date: string;
}

function readOrEmpty(path: string): string {
  try {
    return readFileSync(path, "utf8");
  } catch {
    return "";
  }
}

/** `nproc`: the CPUs this process may use (affinity and cgroup aware), else the OS count. */
function usableCpus(): number {
  try {
    const result = Bun.spawnSync(["nproc"], { stdout: "pipe", stderr: "ignore" });
    const count = Number.parseInt(result.stdout.toString().trim(), 10);
    if (result.exitCode === 0 && Number.isInteger(count) && count > 0) return count;
  } catch {
    // nproc is not installed
  }
  return availableParallelism();
}

export function describeMachine(now: Date = new Date()): Machine {
  const cpuModel = /^model name\s*:\s*(.+)$/m.exec(readOrEmpty("/proc/cpuinfo"))?.[1]?.trim() ?? "unknown";
  const memKb = Number(/^MemTotal:\s*(\d+)\s*kB$/m.exec(readOrEmpty("/proc/meminfo"))?.[1] ?? Number.NaN);
  return {
    cpus: usableCpus(),
    cpuModel,
    memoryGb: Number.isFinite(memKb) ? Math.round((memKb / 1_048_576) * 10) / 10 : Number.NaN,
    bunVersion: Bun.version,
    date: now.toISOString().slice(0, 10),
  };
}

export function machineLine(machine: Machine): string {
  return `${machine.cpus} CPUs (${machine.cpuModel}), ${machine.memoryGb} GB RAM, Bun ${machine.bunVersion}, ${machine.date}`;
}
