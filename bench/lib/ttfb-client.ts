/**
 * Time to first byte of streamed answers, one call at a time, in its own process for bench/compare.ts:
 * `bun bench/lib/ttfb-client.ts SPEC.json`. The spec lists targets (a URL, headers, a body and the text
 * the stream must end with) and a call count; the client sends call i to every target in turn (the
 * order rotating each call, so drift reaches all of them alike), timing from just before `fetch` to the
 * first body chunk read, then reads the body to its end and checks status 200 and the end marker. It
 * prints one JSON line: per target, the sorted samples' percentiles in µs. Any failed check exits 1.
 */

export interface TtfbTarget {
  name: string;
  url: string;
  headers: Record<string, string>;
  body: string;
  /** The stream's last bytes must include this (e.g. `data: [DONE]` or `event: message_stop`). */
  endsWith: string;
}

export interface TtfbSpec {
  targets: TtfbTarget[];
  calls: number;
  /** Untimed calls per target first (connection pools, JIT). */
  warmup: number;
}

export interface TtfbSummary {
  count: number;
  p50Us: number;
  p90Us: number;
  p99Us: number;
  meanUs: number;
}

export type TtfbReport = Record<string, TtfbSummary>;

function percentile(sorted: readonly number[], p: number): number {
  return sorted[Math.max(1, Math.ceil((p / 100) * sorted.length)) - 1] ?? Number.NaN;
}

const decoder = new TextDecoder();

/** One call: µs to the first body chunk; throws unless the answer is a 200 that ends as it should. */
async function timeOne(target: TtfbTarget): Promise<number> {
  const startedAt = performance.now();
  const response = await fetch(target.url, { method: "POST", headers: target.headers, body: target.body });
  const reader = response.body?.getReader();
  if (!reader) throw new Error(`${target.name}: no body (status ${response.status})`);
  const first = await reader.read();
  const firstByteUs = (performance.now() - startedAt) * 1000;
  let tail = first.value ? decoder.decode(first.value.subarray(Math.max(0, first.value.length - 400))) : "";
  let chunks = 0;
  for (let next = first; !next.done && chunks < 1_000_000; chunks++) {
    next = await reader.read();
    if (next.value) tail = (tail + decoder.decode(next.value)).slice(-400);
  }
  if (response.status !== 200 || !tail.includes(target.endsWith)) {
    throw new Error(`${target.name}: status ${response.status}, stream ended with ${JSON.stringify(tail.slice(-200))}`);
  }
  return firstByteUs;
}

export async function measureTtfb(spec: TtfbSpec): Promise<TtfbReport> {
  for (let round = 0; round < spec.warmup; round++) for (const target of spec.targets) await timeOne(target);
  const samples = new Map<string, number[]>(spec.targets.map((target) => [target.name, []]));
  const count = spec.targets.length;
  for (let call = 0; call < spec.calls; call++) {
    for (let step = 0; step < count; step++) {
      const target = spec.targets[(call + step) % count];
      if (target) samples.get(target.name)?.push(await timeOne(target));
    }
  }
  const report: TtfbReport = {};
  for (const [name, values] of samples) {
    const sorted = values.sort((a, b) => a - b);
    report[name] = {
      count: sorted.length,
      p50Us: percentile(sorted, 50),
      p90Us: percentile(sorted, 90),
      p99Us: percentile(sorted, 99),
      meanUs: sorted.reduce((sum, value) => sum + value, 0) / Math.max(1, sorted.length),
    };
  }
  return report;
}

if (import.meta.main) {
  const path = process.argv[2];
  if (!path) throw new Error("usage: bun bench/lib/ttfb-client.ts SPEC.json");
  const spec = (await Bun.file(path).json()) as TtfbSpec;
  if (!Number.isInteger(spec.calls) || spec.calls < 1 || spec.calls > 100_000) throw new Error(`calls must be 1..100000, got ${spec.calls}`);
  try {
    process.stdout.write(`${JSON.stringify(await measureTtfb(spec))}\n`);
  } catch (error) {
    console.error(error instanceof Error ? error.message : String(error));
    process.exit(1);
  }
}
