/**
 * Reads a stream but gives up waiting after `intervalMs` of silence, reporting `idle` so the caller
 * can send a keepalive while the read stays pending (one read in flight, never two).
 */

export type KeepaliveRead<T> = { kind: "value"; done: false; value: T } | { kind: "done" } | { kind: "idle" };

interface StreamReader<T> {
  read(): Promise<{ done: boolean; value?: T | undefined }>;
  cancel(reason?: unknown): Promise<void>;
}

export class KeepaliveReader<T> {
  private pending: Promise<KeepaliveRead<T>> | null = null;

  constructor(
    private readonly reader: StreamReader<T>,
    private readonly intervalMs: number,
  ) {}

  async next(): Promise<KeepaliveRead<T>> {
    this.pending ??= this.reader
      .read()
      .then((result): KeepaliveRead<T> => (result.done || result.value === undefined ? { kind: "done" } : { kind: "value", done: false, value: result.value }));
    const read = this.pending;
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
