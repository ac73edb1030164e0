/**
 * Batches: what one read of an upstream body produced (its SSE events decoded into items), so that the
 * split, the decode and the relay's encode of a whole read happen in one pass, with one reader and one
 * enqueue per read instead of a stream per stage and a read per event.
 */

import type { JsonStringSlot } from "../lib/json-string-slot.ts";
import { SseDecoder, type SseEvent } from "./decode.ts";

/** A read of a batch source: the items of one upstream read (maybe none), or the end. */
export type BatchRead<T> = { done: false; value: T } | { done: true; value?: undefined };

/** What relays and the peek read from: `read` resolves at once when the upstream's bytes were already there. */
export interface BatchReader<T> {
  read(): Promise<BatchRead<T>>;
  cancel(reason?: unknown): Promise<void>;
}

/** The offset just past the next \n\n at or after `from`, or the length when there is none. */
function afterBlankLine(bytes: Uint8Array, from: number): number {
  for (let lineFeed = bytes.indexOf(10, from); lineFeed !== -1; lineFeed = bytes.indexOf(10, lineFeed + 1)) {
    if (bytes[lineFeed + 1] === 10) return lineFeed + 2;
  }
  return bytes.length;
}

const DONE: Promise<BatchRead<never>> = Promise.resolve({ done: true });

type ByteRead = { done: boolean; value?: Uint8Array | undefined };

/** The part of a body's reader this uses. */
export interface ByteReader {
  read(): Promise<ByteRead>;
  cancel(reason?: unknown): Promise<void>;
}

/**
 * A fast lane (slotted-events.ts): reads the events of `slot`'s shape at the start of `bytes` (an event
 * boundary) into `out`, as events or as items of its own (L); returns where it stopped.
 */
export type SlotLane<L> = (bytes: Uint8Array, slot: JsonStringSlot, out: (SseEvent | L)[], event: string) => number;

/** Events at a body's start that are decoded one at a time while no slot is learned (see `batch`). */
const LEARNING_EVENTS = 8;

export interface SseBatchOptions<O, L> {
  /** The template the body's events are expected to repeat (the decoder's learned one), read through `lane` while they do. */
  slot?: () => JsonStringSlot | null;
  lane?: SlotLane<L>;
  /** The SSE event name the slot's events carry ("" for data-only ones). */
  event?: () => string;
  /**
   * For the time to first byte: until this holds for the items of one event (a stream's first content delta),
   * reads are decoded an event at a time, and the batch ends with that event; the rest of its read comes
   * with the next read, at once. A fast upstream's first read can hold much of a short answer, whose
   * decoding (and relaying) would otherwise delay the first byte.
   */
  firstBatchEndsAfter?: (items: readonly O[]) => boolean;
}

/**
 * SSE bytes → one batch per read of the body; at its end, one last batch with what the end produced
 * (maybe nothing), then done. `decode` turns SSE events (and the lane's items) into the batch's items.
 */
export class SseBatchReader<O, L = never> implements BatchReader<O[]> {
  private readonly sse = new SseDecoder();
  private ended = false;
  /** Events decoded one at a time so far. */
  private eventsAlone = 0;
  private readonly slot: () => JsonStringSlot | null;
  private readonly lane: SlotLane<L> | null;
  private readonly event: () => string;
  private firstBatchEndsAfter: ((items: readonly O[]) => boolean) | null;
  /** The rest of a read whose batch ended early (firstBatchEndsAfter): the next read's bytes. */
  private held: Uint8Array | null = null;

  constructor(
    private readonly body: ByteReader,
    private readonly decode: (events: (SseEvent | L)[], atEnd: boolean) => O[],
    options: SseBatchOptions<O, L> = {},
  ) {
    this.slot = options.slot ?? (() => null);
    this.lane = options.lane ?? null;
    this.event = options.event ?? (() => "");
    this.firstBatchEndsAfter = options.firstBatchEndsAfter ?? null;
  }

  read(): Promise<BatchRead<O[]>> {
    const held = this.held;
    if (held !== null) {
      this.held = null;
      return this.decoded({ done: false, value: held });
    }
    if (this.ended) return DONE;
    const next = this.body.read();
    // A read that is already complete is decoded now, so the caller sees it is (Bun.peek) and can take
    // the next at once: a burst of reads goes out as one chunk.
    if (Bun.peek.status(next) === "fulfilled") return this.decoded(Bun.peek(next) as ByteRead);
    return next.then((result) => this.decoded(result));
  }

  /**
   * A read as its batch. Bytes that cannot be decoded (an event past the decoder's size limit) end the
   * stream: the body is cancelled, not read on.
   */
  private decoded(result: ByteRead): Promise<BatchRead<O[]>> {
    try {
      return Promise.resolve(this.batch(result));
    } catch (error) {
      this.ended = true;
      this.held = null;
      this.body.cancel(error).catch(() => {});
      return Promise.reject(error);
    }
  }

  cancel(reason?: unknown): Promise<void> {
    this.ended = true;
    this.held = null;
    return this.body.cancel(reason);
  }

  /**
   * A read's bytes → events. Without a slot the SSE decoder takes them all. With one, the fast lane reads
   * what it can from each event boundary; after a read cut mid-event or a run of slotted events, the SSE
   * decoder takes the next event up to its blank line and the lane goes on after it; where the lane
   * cannot read a single event, the SSE decoder takes the rest of the read.
   */
  private split(bytes: Uint8Array, events: (SseEvent | L)[]): void {
    const slot = this.slot();
    const lane = this.lane;
    if (slot === null || lane === null) {
      this.sse.pushInto(bytes, events);
      return;
    }
    const event = this.event();
    let position = 0;
    while (position < bytes.length) {
      if (this.sse.atEventBoundary()) {
        const read = lane(position === 0 ? bytes : bytes.subarray(position), slot, events, event);
        // Not even one event of the slot's shape here: the rest of the read goes to the SSE decoder at
        // once (a stream whose events stop fitting the slot costs what it did before the lane).
        if (read === 0) {
          this.sse.pushInto(position === 0 ? bytes : bytes.subarray(position), events);
          return;
        }
        position += read;
        if (position >= bytes.length) return;
      }
      const end = afterBlankLine(bytes, position);
      this.sse.pushInto(bytes.subarray(position, end), events);
      position = end;
    }
  }

  private batch(result: ByteRead): BatchRead<O[]> {
    const bytes = result.done ? undefined : result.value;
    if (bytes === undefined) {
      this.ended = true;
      return { done: false, value: this.decode(this.sse.end(), true) };
    }
    if (this.firstBatchEndsAfter !== null) return { done: false, value: this.untilFirst(bytes, this.firstBatchEndsAfter) };
    // While the decoder may still learn a slot from the body's first events, they are decoded one at a
    // time, so that a slot learned from one reads the rest of this read through the lane: a fast
    // upstream's first read can hold much of a short answer (16 KB, 71 of 256 chunks: bench upstream).
    const decoded: O[] = [];
    let position = 0;
    while (this.lane !== null && this.eventsAlone < LEARNING_EVENTS && position < bytes.length && this.slot() === null) {
      position = this.decodeAlone(bytes, position, decoded).end;
    }
    const events: (SseEvent | L)[] = [];
    if (position < bytes.length) this.split(position === 0 ? bytes : bytes.subarray(position), events);
    const items = this.decode(events, false);
    if (decoded.length === 0) return { done: false, value: items };
    for (const item of items) decoded.push(item);
    return { done: false, value: decoded };
  }

  /** A read decoded an event at a time until `endsAfter` holds; what follows that event is held for the next read. */
  private untilFirst(bytes: Uint8Array, endsAfter: (items: readonly O[]) => boolean): O[] {
    const decoded: O[] = [];
    let position = 0;
    while (position < bytes.length) {
      const { end, items } = this.decodeAlone(bytes, position, decoded);
      position = end;
      if (endsAfter(items)) {
        this.firstBatchEndsAfter = null;
        // A view, not a copy: a default reader's chunks belong to the reader (the stream never writes them again).
        if (position < bytes.length) this.held = bytes.subarray(position);
        break;
      }
    }
    return decoded;
  }

  /** The event at `position` (through its blank line) decoded alone, its items added to `into`. */
  private decodeAlone(bytes: Uint8Array, position: number, into: O[]): { end: number; items: O[] } {
    const end = afterBlankLine(bytes, position);
    const events: (SseEvent | L)[] = [];
    this.sse.pushInto(bytes.subarray(position, end), events);
    this.eventsAlone++;
    const items = this.decode(events, false);
    for (const item of items) into.push(item);
    return { end, items };
  }
}

/** `first` (already read), then the rest of `reader`; the replayed batches are let go once read. */
export class ReplayReader<T> implements BatchReader<T> {
  private first: T[] | null;
  private index = 0;

  constructor(
    first: readonly T[],
    private readonly reader: BatchReader<T>,
  ) {
    this.first = first.length > 0 ? [...first] : null;
  }

  read(): Promise<BatchRead<T>> {
    const first = this.first;
    if (first === null) return this.reader.read();
    const value = first[this.index++] as T;
    if (this.index >= first.length) this.first = null;
    return Promise.resolve({ done: false, value });
  }

  cancel(reason?: unknown): Promise<void> {
    this.first = null;
    return this.reader.cancel(reason);
  }
}
