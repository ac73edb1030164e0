import { describe, expect, test } from "bun:test";
import { ReplayReader, SseBatchReader, type BatchReader } from "./batch-reader.ts";
import { GatewayError } from "../errors.ts";
import type { SseEvent } from "./decode.ts";

const encoder = new TextEncoder();

function body(chunks: string[]): ReadableStream<Uint8Array> {
  return new ReadableStream<Uint8Array>({
    start(controller) {
      for (const chunk of chunks) controller.enqueue(encoder.encode(chunk));
      controller.close();
    },
  });
}

/** Each batch: the data of the read's events, and "END" for the body's end. */
function dataBatches(stream: ReadableStream<Uint8Array>): BatchReader<string[]> {
  return new SseBatchReader(stream.getReader(), (events: SseEvent[], atEnd) => [...events.map((event) => event.data), ...(atEnd ? ["END"] : [])]);
}

async function readAll<T>(reader: BatchReader<T>): Promise<T[]> {
  const batches: T[] = [];
  for (;;) {
    const next = await reader.read();
    if (next.done) return batches;
    batches.push(next.value);
  }
}

describe("SseBatchReader", () => {
  test("one batch per read of the body, events split across reads completed by the next, then the end's batch", async () => {
    const batches = await readAll(dataBatches(body(["data: 1\n\ndata: 2\n\nda", "ta: 3\n", "\n", "data: 4\n\n"])));
    expect(batches).toEqual([["1", "2"], [], ["3"], ["4"], ["END"]]);
  });

  test("an event cut by the end of the body is dropped (the decoder sees the end)", async () => {
    expect(await readAll(dataBatches(body(["data: 1\n\ndata: 2"])))).toEqual([["1"], ["END"]]);
  });

  test("a read the body already has is decoded at once: the returned promise is already settled", async () => {
    const reader = dataBatches(body(["data: 1\n\n", "data: 2\n\n"]));
    await Bun.sleep(0);
    const first = reader.read();
    expect(Bun.peek.status(first)).toBe("fulfilled");
    expect(await first).toEqual({ done: false, value: ["1"] });
  });

  test("cancel cancels the body and ends the reader", async () => {
    let reason: unknown = null;
    const stream = new ReadableStream<Uint8Array>({
      pull: () => new Promise(() => {}),
      cancel(why) {
        reason = why;
      },
    });
    const reader = dataBatches(stream);
    await reader.cancel("client gone");
    expect(reason).toBe("client gone");
    expect(await reader.read()).toEqual({ done: true });
  });

  test("until the caller's event arrives, reads go an event at a time: the batch ends with it, the rest of its read comes next, at once", async () => {
    const reader = new SseBatchReader(body(["data: a\n\ndata: b\n\ndata: c\n\ndata: d\n\n", "data: e\n\n"]).getReader(), (events: SseEvent[], atEnd) => [...events.map((event) => event.data), ...(atEnd ? ["END"] : [])], {
      firstBatchEndsAfter: (items) => items.includes("b"),
    });
    expect(await reader.read()).toEqual({ done: false, value: ["a", "b"] });
    const rest = reader.read();
    expect(Bun.peek.status(rest)).toBe("fulfilled");
    expect(await rest).toEqual({ done: false, value: ["c", "d"] });
    // Once it came, reads are whole batches again.
    expect(await readAll(reader)).toEqual([["e"], ["END"]]);
  });

  test("a read without the caller's event is one batch, and the next read is split where it comes", async () => {
    const reader = new SseBatchReader(body(["data: a\n\n", "data: b\n\ndata: c\n\n"]).getReader(), (events: SseEvent[]) => events.map((event) => event.data), {
      firstBatchEndsAfter: (items) => items.includes("b"),
    });
    expect(await readAll(reader)).toEqual([["a"], ["b"], ["c"], []]);
  });

  test("cancel drops the rest of a read held for the next", async () => {
    const reader = new SseBatchReader(body(["data: a\n\ndata: b\n\n"]).getReader(), (events: SseEvent[]) => events.map((event) => event.data), {
      firstBatchEndsAfter: () => true,
    });
    expect(await reader.read()).toEqual({ done: false, value: ["a"] });
    await reader.cancel();
    expect(await reader.read()).toEqual({ done: true });
  });

  test("a body that fails fails the read", async () => {
    const stream = new ReadableStream<Uint8Array>({
      start(controller) {
        controller.error(new Error("connection reset"));
      },
    });
    await expect(dataBatches(stream).read()).rejects.toThrow("connection reset");
  });
});

describe("ReplayReader", () => {
  test("the given batches first, then the source's", async () => {
    const source = dataBatches(body(["data: 3\n\n"]));
    expect(await readAll(new ReplayReader([["1"], ["2"]], source))).toEqual([["1"], ["2"], ["3"], ["END"]]);
  });
});

describe("SseBatchReader over bytes it cannot decode", () => {
  test("an event past the decoder's limit fails the read and cancels the body: an endless line is not read on", async () => {
    const megabyte = new Uint8Array(1 << 20).fill(120); // "xxxx…", no line end anywhere
    let pulls = 0;
    let cancelled = false;
    const endless = new ReadableStream<Uint8Array>({
      start(controller) {
        controller.enqueue(encoder.encode("data: "));
      },
      pull(controller) {
        pulls++;
        controller.enqueue(megabyte);
      },
      cancel() {
        cancelled = true;
      },
    });
    const reader = dataBatches(endless);
    let failure: unknown = null;
    for (let index = 0; index < 100 && failure === null; index++) {
      try {
        await reader.read();
      } catch (error) {
        failure = error;
      }
    }
    expect(failure).toBeInstanceOf(GatewayError);
    expect((failure as GatewayError).kind).toBe("upstream_error");
    expect(cancelled).toBe(true);
    expect(pulls).toBeLessThan(40); // 32 MiB of line, not the 100 reads allowed
    expect(await reader.read()).toEqual({ done: true, value: undefined });
  });
});
