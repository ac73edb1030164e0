/**
 * Reads a stream but gives up waiting after `intervalMs` of silence, reporting `idle` so the caller
 * can send a keepalive while the read stays pending (one read in flight, never two). A read that is
 * already complete (the stream had it queued) is taken at once, without arming the idle timer.
 */

export type KeepaliveRead<T> = { kind: "value"; done: false; value: T } | { kind: "done" } | { kind: "idle" };

interface StreamReader<T> {
  read(): Promise<{ done: boolean; value?: T | undefined }>;
  cancel(reason?: unknown): Promise<void>;
}

function toRead<T>(result: { done: boolean; value?: T | undefined }): KeepaliveRead<T> {
  return result.done || result.value === undefined ? { kind: "done" } : { kind: "value", done: false, value: result.value };
}

export class KeepaliveReader<T> {
  private pending: Promise<{ done: boolean; value?: T | undefined }> | null = null;

  constructor(
    private readonly reader: StreamReader<T>,
    private readonly intervalMs: number,
  ) {}

  /**
   * The next read if it is already complete, else null (the read stays in flight for `next`). A relay
   * drains what one upstream chunk produced without a timer per event: a setTimeout/clearTimeout pair
   * and a race per event cost more than the event itself (bench/translation.ts).
   */
  ready(): KeepaliveRead<T> | null {
    if (this.pending === null) {
      this.pending = this.reader.read();
      if (Bun.peek.status(this.pending) !== "fulfilled") {
        // Until `next` awaits it, a read that fails would be an unhandled rejection; `next` still sees the error.
        this.pending.catch(() => {});
        return null;
      }
    } else if (Bun.peek.status(this.pending) !== "fulfilled") {
      return null;
    }
    const result = Bun.peek(this.pending) as { done: boolean; value?: T | undefined };
    this.pending = null;
    return toRead(result);
  }

  async next(): Promise<KeepaliveRead<T>> {
    const now = this.ready();
    if (now !== null) return now;
    const read = (this.pending as Promise<{ done: boolean; value?: T | undefined }>).then(toRead);
    let timer: ReturnType<typeof setTimeout> | undefined;
    const idle = new Promise<KeepaliveRead<T>>((resolve) => {
      timer = setTimeout(() => resolve({ kind: "idle" }), this.intervalMs);
    });
    try {
      const outcome = await Promise.race([read, idle]);
      if (outcome.kind !== "idle") this.pending = null;
      return outcome;
    } finally {
      clearTimeout(timer);
    }
  }

  cancel(reason?: unknown): Promise<void> {
    return this.reader.cancel(reason);
  }
}
