/**
 * Peek: wait for a stream's first event before committing status and headers, so a stream that fails
 * (or stays silent past the first-byte deadline) before sending anything can still go to the next
 * channel (SPEC §5). The peeked batches are put back in front of the reader.
 */

import { type BatchReader, ReplayReader } from "./batch-reader.ts";

export type PeekResult<T> = { kind: "items"; reader: BatchReader<T>; peeked: T[] } | { kind: "ended" } | { kind: "timeout" };

/**
 * Reads batches until `ready(peeked)` says enough was seen or the source ends. `timeoutMs` bounds the
 * wait until the first batch that `counts` (the first-byte deadline); after it, the caller's own abort
 * bounds the rest. On a timeout the source is cancelled; otherwise the returned reader replays what
 * was read, then reads on from the source: no stream is added in between.
 */
export async function peekBatches<T>(
  source: BatchReader<T>,
  timeoutMs: number,
  ready: (peeked: readonly T[]) => boolean,
  counts: (batch: T) => boolean,
  /** Sees each batch as it is read (what the upstream reported before its first content). */
  onBatch?: (batch: T) => void,
): Promise<PeekResult<T>> {
  const peeked: T[] = [];
  let seen = false;
  let timer: ReturnType<typeof setTimeout> | undefined;
  let deadline: Promise<"timeout"> | null = null;
  try {
    while (!ready(peeked)) {
      const read = source.read();
      let next: Awaited<typeof read> | "timeout";
      if (seen || Bun.peek.status(read) === "fulfilled") {
        next = await read;
      } else {
        deadline ??= new Promise<"timeout">((resolve) => {
          timer = setTimeout(() => resolve("timeout"), Math.max(0, timeoutMs));
        });
        next = await Promise.race([read, deadline]);
      }
      if (next === "timeout") {
        // The read stays pending: its failure, if any, is not an unhandled rejection.
        read.catch(() => {});
        source.cancel().catch(() => {});
        return { kind: "timeout" };
      }
      if (next.done) return seen ? { kind: "items", reader: new ReplayReader(peeked, source), peeked } : { kind: "ended" };
      peeked.push(next.value);
      onBatch?.(next.value);
      if (counts(next.value)) seen = true;
    }
  } catch (error) {
    source.cancel().catch(() => {});
    throw error;
  } finally {
    clearTimeout(timer);
  }
  return { kind: "items", reader: new ReplayReader(peeked, source), peeked };
}
