import { describe, expect, test } from "bun:test";
import { KeepaliveReader } from "./keepalive.ts";

/** A reader over a stream the test feeds by hand, counting the reads asked of it. */
function controlled<T>() {
  let controller!: ReadableStreamDefaultController<T>;
  const stream = new ReadableStream<T>({ start: (c) => void (controller = c) }, { highWaterMark: 0 });
  const inner = stream.getReader();
  const counted = {
    reads: 0,
    read() {
      counted.reads++;
      return inner.read();
    },
    cancel: (reason?: unknown) => inner.cancel(reason),
  };
  return { controller, reader: counted };
}

describe("KeepaliveReader", () => {
  test("values already queued are taken at once, in order, then done", async () => {
    const { controller, reader } = controlled<number>();
    for (const value of [1, 2, 3]) controller.enqueue(value);
    controller.close();
    const keepalive = new KeepaliveReader(reader, 60_000);
    expect(keepalive.ready()).toEqual({ kind: "value", done: false, value: 1 });
    expect(await keepalive.next()).toEqual({ kind: "value", done: false, value: 2 });
    expect(keepalive.ready()).toEqual({ kind: "value", done: false, value: 3 });
    expect(await keepalive.next()).toEqual({ kind: "done" });
    expect(reader.reads).toBe(4);
  });

  test("ready() is null while the read is pending, and keeps that one read in flight", async () => {
    const { controller, reader } = controlled<string>();
    const keepalive = new KeepaliveReader(reader, 60_000);
    expect(keepalive.ready()).toBeNull();
    expect(keepalive.ready()).toBeNull();
    const next = keepalive.next();
    controller.enqueue("late");
    expect(await next).toEqual({ kind: "value", done: false, value: "late" });
    expect(reader.reads).toBe(1);
  });

  test("silence longer than the interval reports idle; the same read then delivers the value", async () => {
    const { controller, reader } = controlled<string>();
    const keepalive = new KeepaliveReader(reader, 20);
    expect(await keepalive.next()).toEqual({ kind: "idle" });
    expect(await keepalive.next()).toEqual({ kind: "idle" });
    setTimeout(() => controller.enqueue("after a pause"), 5);
    expect(await keepalive.next()).toEqual({ kind: "value", done: false, value: "after a pause" });
    expect(reader.reads).toBe(1);
  });

  test("a failed read rejects next(), also when ready() started it", async () => {
    const { controller, reader } = controlled<string>();
    const keepalive = new KeepaliveReader(reader, 60_000);
    expect(keepalive.ready()).toBeNull();
    controller.error(new Error("upstream cut"));
    await Bun.sleep(1); // the rejection settles before anyone awaits it: it must not be unhandled
    await expect(keepalive.next()).rejects.toThrow("upstream cut");
  });
});
