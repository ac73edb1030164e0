/**
 * Peek: wait for a stream's first event before committing status and headers, so a stream that fails
 * (or stays silent past the first-byte deadline) before sending anything can still go to the next
 * channel (SPEC §5). The peeked items are put back in front of the stream.
 */

export type PeekResult<T> = { kind: "items"; stream: ReadableStream<T>; peeked: T[] } | { kind: "ended" } | { kind: "timeout" };

/**
 * Reads until `ready(peeked)` says enough was seen or the stream ends. `timeoutMs` bounds the wait for
 * the first item only (the first-byte deadline); after it, the caller's own abort bounds the rest. On
 * a timeout the stream is cancelled; otherwise the returned stream replays what was read.
 */
export async function peekStream<T>(source: ReadableStream<T>, timeoutMs: number, ready: (peeked: readonly T[]) => boolean): Promise<PeekResult<T>> {
  const reader: Reader<T> = source.getReader();
  const peeked: T[] = [];
  let timer: ReturnType<typeof setTimeout> | undefined;
  const deadline = new Promise<"timeout">((resolve) => {
    timer = setTimeout(() => resolve("timeout"), Math.max(0, timeoutMs));
  });
  try {
    while (!ready(peeked)) {
      const next = peeked.length === 0 ? await Promise.race([reader.read(), deadline]) : await reader.read();
      if (next === "timeout") {
        reader.cancel().catch(() => {});
        return { kind: "timeout" };
      }
      if (next.done || next.value === undefined) return peeked.length > 0 ? { kind: "items", stream: replay(peeked, reader), peeked } : { kind: "ended" };
      peeked.push(next.value);
    }
  } catch (error) {
    reader.cancel().catch(() => {});
    throw error;
  } finally {
    clearTimeout(timer);
  }
  return { kind: "items", stream: replay(peeked, reader), peeked };
}

interface Reader<T> {
  read(): Promise<{ done: boolean; value?: T | undefined }>;
  cancel(reason?: unknown): Promise<void>;
}

/**
 * The peeked items, then the rest of the source. One pull forwards every read that is already complete
 * (the events of one upstream chunk), so a burst costs one pull rather than an async pull per event
 * (bench/translation.ts); at most one read is in flight beyond what was enqueued.
 */
function replay<T>(peeked: T[], reader: Reader<T>): ReadableStream<T> {
  let index = 0;
  /** A read that was not complete when the last pull returned: the next pull awaits it. */
  let inFlight: Promise<{ done: boolean; value?: T | undefined }> | null = null;
  return new ReadableStream<T>({
    async pull(controller) {
      if (index < peeked.length) {
        while (index < peeked.length) controller.enqueue(peeked[index++] as T);
        return;
      }
      let next = await (inFlight ?? reader.read());
      inFlight = null;
      for (;;) {
        if (next.done || next.value === undefined) {
          controller.close();
          return;
        }
        controller.enqueue(next.value);
        const read = reader.read();
        if (Bun.peek.status(read) !== "fulfilled") {
          // Until the next pull awaits it, a read that fails must not count as an unhandled rejection.
          read.catch(() => {});
          inFlight = read;
          return;
        }
        next = Bun.peek(read) as { done: boolean; value?: T | undefined };
      }
    },
    cancel(reason) {
      return reader.cancel(reason);
    },
  });
}
