import { describe, expect, test } from "bun:test";
import { peekStream } from "./peek.ts";

async function readAll<T>(stream: ReadableStream<T>): Promise<T[]> {
  const items: T[] = [];
  for await (const item of stream) items.push(item);
  return items;
}

/** A source that gives `bursts` one after another, each burst enqueued at once, `gapMs` apart. */
function bursty(bursts: number[][], gapMs: number): ReadableStream<number> {
  return new ReadableStream<number>({
    async start(controller) {
      for (const burst of bursts) {
        for (const item of burst) controller.enqueue(item);
        await Bun.sleep(gapMs);
      }
      controller.close();
    },
  });
}

describe("peekStream", () => {
  test("the returned stream replays the peeked items, then the rest, in order, across bursts and pauses", async () => {
    const bursts = [[1, 2], [3, 4, 5, 6, 7], [8], [9, 10, 11]];
    const peek = await peekStream(bursty(bursts, 5), 1_000, (items) => items.length >= 3);
    if (peek.kind !== "items") throw new Error(`expected items, got ${peek.kind}`);
    expect(peek.peeked).toEqual([1, 2, 3]);
    expect(await readAll(peek.stream)).toEqual(bursts.flat());
  });

  test("a source that ends during the peek still replays what came", async () => {
    const peek = await peekStream(bursty([[1, 2]], 0), 1_000, () => false);
    if (peek.kind !== "items") throw new Error(`expected items, got ${peek.kind}`);
    expect(await readAll(peek.stream)).toEqual([1, 2]);
  });

  test("a source that fails after the peek errors the replayed stream", async () => {
    const source = new ReadableStream<number>({
      async start(controller) {
        controller.enqueue(1);
        controller.enqueue(2);
        await Bun.sleep(5);
        controller.error(new Error("upstream cut"));
      },
    });
    const peek = await peekStream(source, 1_000, (items) => items.length >= 1);
    if (peek.kind !== "items") throw new Error(`expected items, got ${peek.kind}`);
    const seen: number[] = [];
    await expect(
      (async () => {
        for await (const item of peek.stream) seen.push(item);
      })(),
    ).rejects.toThrow("upstream cut");
    expect(seen).toEqual([1, 2]);
  });

  test("cancelling the replayed stream cancels the source", async () => {
    let cancelled: unknown = null;
    const source = new ReadableStream<number>({
      start(controller) {
        controller.enqueue(1);
      },
      cancel(reason) {
        cancelled = reason;
      },
    });
    const peek = await peekStream(source, 1_000, (items) => items.length >= 1);
    if (peek.kind !== "items") throw new Error(`expected items, got ${peek.kind}`);
    const reader = peek.stream.getReader();
    expect(await reader.read()).toEqual({ done: false, value: 1 });
    await reader.cancel("client gone");
    expect(cancelled).toBe("client gone");
  });

  test("nothing before the deadline is a timeout, and the source is cancelled", async () => {
    let cancelled = false;
    const silent = new ReadableStream<number>({
      cancel() {
        cancelled = true;
      },
    });
    const peek = await peekStream(silent, 10, (items) => items.length > 0);
    expect(peek.kind).toBe("timeout");
    expect(cancelled).toBe(true);
  });
});
