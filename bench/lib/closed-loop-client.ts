/**
 * A closed-loop HTTP load client, run as its own process when `wrk` is not available:
 * `bun bench/lib/closed-loop-client.ts --url URL --body JSON --header "name: value"… --connections N --seconds S`.
 * N loops each send the next POST as soon as the previous answer is read; prints one JSON line shaped
 * like wrk's summary (`LoadReport`). It costs far more CPU than wrk, which then competes with the gateway.
 */

import { parseArgs } from "node:util";

export interface LoadReport {
  /** Responses read in the window (any status). */
  requests: number;
  durationUs: number;
  p50Us: number;
  p99Us: number;
  non2xx: number;
  /** Connection, read, write and timeout errors. */
  errors: number;
}

/** The nearest-rank percentile of sorted samples. */
function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.max(1, Math.ceil((p / 100) * sorted.length)) - 1] ?? Number.NaN;
}

export async function closedLoop(url: string, body: string, headers: Record<string, string>, connections: number, seconds: number): Promise<LoadReport> {
  const latenciesUs: number[] = [];
  let non2xx = 0;
  let errors = 0;
  const startedAt = performance.now();
  const deadline = startedAt + seconds * 1000;
  const loop = async () => {
    while (performance.now() < deadline) {
      const sentAt = performance.now();
      try {
        const response = await fetch(url, { method: "POST", headers, body });
        await response.arrayBuffer();
        if (response.status < 200 || response.status > 299) non2xx++;
        latenciesUs.push((performance.now() - sentAt) * 1000);
      } catch {
        errors++;
      }
    }
  };
  await Promise.all(Array.from({ length: connections }, loop));
  const durationUs = (performance.now() - startedAt) * 1000;
  const sorted = latenciesUs.sort((a, b) => a - b);
  return { requests: sorted.length, durationUs, p50Us: percentile(sorted, 50), p99Us: percentile(sorted, 99), non2xx, errors };
}

if (import.meta.main) {
  const { values } = parseArgs({
    args: process.argv.slice(2),
    options: {
      url: { type: "string" },
      body: { type: "string" },
      header: { type: "string", multiple: true, default: [] },
      connections: { type: "string", default: "10" },
      seconds: { type: "string", default: "5" },
    },
    strict: true,
  });
  if (!values.url || values.body === undefined) throw new Error("--url and --body are required");
  const headers: Record<string, string> = {};
  for (const line of values.header) {
    const colon = line.indexOf(":");
    if (colon < 1) throw new Error(`--header expects 'name: value', got '${line}'`);
    headers[line.slice(0, colon).trim()] = line.slice(colon + 1).trim();
  }
  const connections = Number(values.connections);
  const seconds = Number(values.seconds);
  if (!Number.isInteger(connections) || connections < 1) throw new Error(`--connections expects a positive integer, got '${values.connections}'`);
  if (!(seconds > 0 && seconds <= 600)) throw new Error(`--seconds expects 0 < s ≤ 600, got '${values.seconds}'`);
  const report = await closedLoop(values.url, values.body, headers, connections, seconds);
  process.stdout.write(`${JSON.stringify(report)}\n`);
}
