/**
 * A `bun --cpu-prof` profile summarised: self time per function (runtime and dependency frames named
 * with the nearest src/ frame that called them) and per source area. Shared by bench/compare.ts and
 * bench/translation.ts.
 */

import { join, relative } from "node:path";
import { fixed } from "./stats.ts";

const ROOT = join(import.meta.dir, "..", "..");

export interface ProfileRow {
  functionName: string;
  location: string;
  /** For a frame outside src/ (runtime, dependency): the nearest src/ frame up its stack. */
  via: string | null;
  selfPercent: number;
}

export interface ProfileResult {
  scenario: string;
  rps: number;
  /** Samples taken while the JS thread was busy (Bun records no idle samples). */
  samples: number;
  gcPercent: number;
  top: ProfileRow[];
  /** Self time by area, runtime and dependency frames charged to the nearest src/ frame that called them. */
  byArea: { area: string; selfPercent: number }[];
}

export interface CpuProfile {
  nodes: { id: number; callFrame: { functionName: string; url: string; lineNumber: number }; children?: number[] }[];
  samples: number[];
}

function pathOf(url: string): string {
  const path = url.startsWith("file://") ? url.slice("file://".length) : url;
  return path.startsWith(`${ROOT}/`) ? relative(ROOT, path) : path;
}

function relativeLocation(url: string, line: number): string {
  if (url === "") return "(native)";
  return line >= 0 ? `${pathOf(url)}:${line + 1}` : pathOf(url);
}

/** src/<area>[/<sub-area>] of a source path, else null. */
function sourceArea(url: string): string | null {
  const source = /^src\/([^/]+)(\/([^/]+))?/.exec(pathOf(url));
  if (!source) return null;
  return source[3] && !source[3].endsWith(".ts") ? `src/${source[1]}/${source[3]}` : `src/${source[1]}`;
}

export function summarizeProfile(profile: CpuProfile): Omit<ProfileResult, "scenario" | "rps"> {
  const byNode = new Map(profile.nodes.map((node) => [node.id, node]));
  const parent = new Map<number, number>();
  for (const node of profile.nodes) for (const child of node.children ?? []) parent.set(child, node.id);
  /** The nearest frame in src/ at or above `id` (bounded by the tree's depth). */
  const nearestSource = (id: number): { functionName: string; url: string; lineNumber: number } | null => {
    let current: number | undefined = id;
    for (let depth = 0; current !== undefined && depth < 10_000; depth++) {
      const frame = byNode.get(current)?.callFrame;
      if (frame && sourceArea(frame.url) !== null) return frame;
      current = parent.get(current);
    }
    return null;
  };
  const counts = new Map<number, number>();
  for (const id of profile.samples) counts.set(id, (counts.get(id) ?? 0) + 1);
  const total = profile.samples.length;
  const byFunction = new Map<string, { functionName: string; location: string; via: Map<string, number>; count: number }>();
  const byArea = new Map<string, number>();
  let gc = 0;
  for (const [id, count] of counts) {
    const frame = byNode.get(id)?.callFrame;
    if (!frame) continue;
    const name = frame.functionName || "(anonymous)";
    if (name === "(garbage collector)") gc += count;
    const location = relativeLocation(frame.url, frame.lineNumber);
    const key = `${name}@${location}`;
    const entry = byFunction.get(key) ?? { functionName: name, location, via: new Map<string, number>(), count: 0 };
    entry.count += count;
    const caller = sourceArea(frame.url) === null ? nearestSource(id) : null;
    if (caller) {
      const label = `${caller.functionName || "(anonymous)"} (${relativeLocation(caller.url, caller.lineNumber)})`;
      entry.via.set(label, (entry.via.get(label) ?? 0) + count);
    }
    byFunction.set(key, entry);
    const area = name === "(garbage collector)" ? "garbage collector" : sourceArea(frame.url) ?? (caller ? sourceArea(caller.url) : null) ?? "outside src/ (server, fetch, timers)";
    byArea.set(area, (byArea.get(area) ?? 0) + count);
  }
  const percent = (count: number) => (total === 0 ? 0 : (count / total) * 100);
  /** The src/ caller behind most of a frame's samples; "several" when none has half of them. */
  const mainCaller = (via: Map<string, number>, count: number): string | null => {
    const best = [...via.entries()].sort((a, b) => b[1] - a[1])[0];
    if (!best) return null;
    if (best[1] * 2 < count) return "several (none has half)";
    return `${best[0]}${best[1] < count ? ` (${fixed((best[1] / count) * 100, 0)} %)` : ""}`;
  };
  return {
    samples: total,
    gcPercent: percent(gc),
    top: [...byFunction.values()]
      .sort((a, b) => b.count - a.count)
      .slice(0, 15)
      .map((entry) => ({ functionName: entry.functionName, location: entry.location, via: mainCaller(entry.via, entry.count), selfPercent: percent(entry.count) })),
    byArea: [...byArea.entries()].sort((a, b) => b[1] - a[1]).slice(0, 12).map(([area, count]) => ({ area, selfPercent: percent(count) })),
  };
}

