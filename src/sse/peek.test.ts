import { describe, expect, test } from "bun:test";
import type { BatchReader } from "./batch-reader.ts";
import { peekBatches } from "./peek.ts";

async function readAll<T>(reader: BatchReader<T>): Promise<T[]> {
  const items: T[] = [];
  for (;;) {
    const next = await reader.read();
    if (next.done) return items;
    items.push(next.value);
  }
}

/** A source that gives `batches` one after another, `gapMs` apart; `failAfter` rejects once they are out. */
function bursty(batches: number[][], gapMs: number, failAfter?: Error) {
  let index = 0;
  const state = { cancelled: null as unknown, reads: 0 };
  const reader: BatchReader<number[]> = {
    async read() {
      state.reads++;
      if (index > 0) await Bun.sleep(gapMs);
      const batch = batches[index++];
      if (batch) return { done: false, value: batch };
      if (failAfter) throw failAfter;
      return { done: true };
    },
    async cancel(reason) {
      state.cancelled = reason ?? "cancelled";
    },
  };
  return { reader, state };
}

const nonEmpty = (batch: number[]) => batch.length > 0;
const atLeast = (count: number) => (batches: readonly number[][]) => batches.flat().length >= count;

describe("peekBatches", () => {
  test("the returned reader replays the peeked batches, then the rest, in order, across pauses", async () => {
    const batches = [[1, 2], [3, 4, 5, 6, 7], [8], [9, 10, 11]];
    const { reader } = bursty(batches, 5);
    const peek = await peekBatches(reader, 1_000, atLeast(3), nonEmpty);
    if (peek.kind !== "items") throw new Error(`expected items, got ${peek.kind}`);
    expect(peek.peeked).toEqual([[1, 2], [3, 4, 5, 6, 7]]);
    expect(await readAll(peek.reader)).toEqual(batches);
  });

  test("a source that ends during the peek still replays what came", async () => {
    const { reader } = bursty([[1, 2]], 0);
    const peek = await peekBatches(reader, 1_000, () => false, nonEmpty);
    if (peek.kind !== "items") throw new Error(`expected items, got ${peek.kind}`);
    expect(await readAll(peek.reader)).toEqual([[1, 2]]);
  });

  test("a source that ends with nothing that counts has ended", async () => {
    const { reader } = bursty([[], []], 0);
    expect((await peekBatches(reader, 1_000, () => false, nonEmpty)).kind).toBe("ended");
  });

  test("a source that fails after the peek fails the replaying reader", async () => {
    const { reader } = bursty([[1], [2]], 5, new Error("upstream cut"));
    const peek = await peekBatches(reader, 1_000, atLeast(1), nonEmpty);
    if (peek.kind !== "items") throw new Error(`expected items, got ${peek.kind}`);
    expect(await peek.reader.read()).toEqual({ done: false, value: [1] });
    expect(await peek.reader.read()).toEqual({ done: false, value: [2] });
    await expect(peek.reader.read()).rejects.toThrow("upstream cut");
  });

  test("cancelling the replaying reader cancels the source", async () => {
    const { reader, state } = bursty([[1], [2]], 0);
    const peek = await peekBatches(reader, 1_000, atLeast(1), nonEmpty);
    if (peek.kind !== "items") throw new Error(`expected items, got ${peek.kind}`);
    await peek.reader.cancel("client gone");
    expect(state.cancelled).toBe("client gone");
  });

  test("nothing before the deadline is a timeout, and the source is cancelled", async () => {
    let cancelled = false;
    const silent: BatchReader<number[]> = {
      read: () => new Promise(() => {}),
      cancel: async () => {
        cancelled = true;
      },
    };
    expect((await peekBatches(silent, 10, atLeast(1), nonEmpty)).kind).toBe("timeout");
    expect(cancelled).toBe(true);
  });

  test("the deadline holds until a batch that counts: empty batches do not stop it", async () => {
    let reads = 0;
    const trickle: BatchReader<number[]> = {
      read: async () => {
        reads++;
        await Bun.sleep(4);
        return { done: false, value: [] };
      },
      cancel: async () => {},
    };
    expect((await peekBatches(trickle, 30, atLeast(1), nonEmpty)).kind).toBe("timeout");
    expect(reads).toBeGreaterThan(1);
  });

  test("after the first batch that counts, slow batches are awaited without a deadline", async () => {
    const { reader } = bursty([[1], [], [2]], 20);
    const peek = await peekBatches(reader, 10, atLeast(2), nonEmpty);
    expect(peek.kind).toBe("items");
  });
});
