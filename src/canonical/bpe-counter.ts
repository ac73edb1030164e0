/**
 * A byte-pair-encoding token counter over tiktoken ranks (bpe-ranks.ts). Loading cl100k_base's ranks adds
 * about 14 MB of RSS against the 41 MB gpt-tokenizer's strings and maps of the same ranks add, counting
 * about as fast (bench/token-count.ts). Counts equal gpt-tokenizer's (bpe-counter.test.ts: corpora and
 * random text) but for text with U+FEFF: pieces are looked up by their bytes, as tiktoken does, where
 * gpt-tokenizer misses the byte-order-mark tokens (`"\uFEFFusing"` is one token, rank 4117, not three).
 * Text that looks like a special token (`<|endoftext|>`) counts as the text it is, as an API counts a
 * user's text. Long pieces merge through a heap, so no input makes a count quadratic.
 */

import { type BpeRanks, NO_RANK, rankOf } from "./bpe-ranks.ts";

/** Pieces of this many bytes or more merge through a heap (n log n) instead of the rescanning loop (n²). */
const HEAP_MERGE_MIN_BYTES = 96;
/** The piece buffer is kept between pieces up to this size; a longer piece gets its own, dropped after. */
const KEPT_PIECE_BYTES = 16_384;
/** Heap keys: rank × 2³² + the part's start byte, so the leftmost of equal ranks comes first (tiktoken's order). */
const RANK_SCALE = 2 ** 32;

/**
 * tiktoken's merge loop over `piece[0 .. length)`: start from single bytes and repeatedly join the
 * leftmost adjacent pair with the lowest rank until no pair is a token; returns how many parts are left.
 * `starts` and `pairRanks` hold at least `length + 1` entries.
 */
export function mergedPartsByScan(ranks: BpeRanks, piece: Uint8Array, length: number, starts: Int32Array, pairRanks: Int32Array): number {
  let parts = length + 1; // boundaries, the last one is `length`
  for (let index = 0; index <= length; index++) starts[index] = index;
  for (let index = 0; index + 2 < parts; index++) pairRanks[index] = rankOf(ranks, piece, index, index + 2);
  pairRanks[parts - 2] = NO_RANK;
  pairRanks[parts - 1] = NO_RANK;
  for (;;) {
    let best = NO_RANK;
    let at = -1;
    for (let index = 0; index + 1 < parts - 1; index++) {
      const rank = pairRanks[index] as number;
      if (rank < best) {
        best = rank;
        at = index;
      }
    }
    if (at < 0) break;
    // Join part `at` with part `at + 1` by dropping boundary `at + 1`.
    starts.copyWithin(at + 1, at + 2, parts);
    pairRanks.copyWithin(at + 1, at + 2, parts);
    parts--;
    pairRanks[at] = at + 2 < parts ? rankOf(ranks, piece, starts[at] as number, starts[at + 2] as number) : NO_RANK;
    if (at > 0) pairRanks[at - 1] = rankOf(ranks, piece, starts[at - 1] as number, starts[at + 1] as number);
  }
  return parts - 1;
}

/**
 * The same merges in the same order, through a binary min-heap of (rank, start) with stale entries
 * skipped: parts are a linked list keyed by their start byte, and each join re-ranks only its neighbours.
 */
export function mergedPartsByHeap(ranks: BpeRanks, piece: Uint8Array, length: number): number {
  const next = new Int32Array(length + 1);
  const previous = new Int32Array(length + 1);
  /** The rank of the pair that starts at each live part; NO_RANK for none (and for joined parts). */
  const pairRank = new Int32Array(length + 1).fill(NO_RANK);
  for (let node = 0; node <= length; node++) {
    next[node] = node + 1;
    previous[node] = node - 1;
  }
  const heap = new Float64Array(3 * length);
  let size = 0;
  const push = (rank: number, node: number) => {
    let at = size++;
    const key = rank * RANK_SCALE + node;
    while (at > 0) {
      const parent = (at - 1) >> 1;
      if ((heap[parent] as number) <= key) break;
      heap[at] = heap[parent] as number;
      at = parent;
    }
    heap[at] = key;
  };
  const pop = (): number => {
    const top = heap[0] as number;
    const last = heap[--size] as number;
    let at = 0;
    for (;;) {
      let child = 2 * at + 1;
      if (child >= size) break;
      if (child + 1 < size && (heap[child + 1] as number) < (heap[child] as number)) child++;
      if ((heap[child] as number) >= last) break;
      heap[at] = heap[child] as number;
      at = child;
    }
    heap[at] = last;
    return top;
  };
  /** Re-ranks the pair that starts at `node` (it and the part after it) and queues it. */
  const rerank = (node: number) => {
    const second = next[node] as number;
    const rank = second < length ? rankOf(ranks, piece, node, next[second] as number) : NO_RANK;
    pairRank[node] = rank;
    if (rank !== NO_RANK) push(rank, node);
  };
  for (let node = 0; node + 1 < length; node++) rerank(node);
  let parts = length;
  while (size > 0) {
    const key = pop();
    const rank = Math.floor(key / RANK_SCALE);
    const node = key - rank * RANK_SCALE;
    if (pairRank[node] !== rank) continue; // stale: re-ranked or joined since it was queued
    const second = next[node] as number;
    const after = next[second] as number;
    next[node] = after;
    if (after <= length) previous[after] = node;
    pairRank[second] = NO_RANK;
    parts--;
    rerank(node);
    const before = previous[node] as number;
    if (before >= 0) rerank(before);
  }
  return parts;
}

/** Counts the tokens of text split by an encoding's pre-tokenizer pattern. */
export class BpeCounter {
  private readonly encoder = new TextEncoder();
  private piece = new Uint8Array(256);
  /** The scan merge's state, for pieces under HEAP_MERGE_MIN_BYTES. */
  private readonly partStarts = new Int32Array(HEAP_MERGE_MIN_BYTES + 1);
  private readonly pairRanks = new Int32Array(HEAP_MERGE_MIN_BYTES + 1);

  constructor(
    private readonly ranks: BpeRanks,
    private readonly splitPattern: RegExp,
  ) {}

  count(text: string): number {
    let total = 0;
    this.splitPattern.lastIndex = 0;
    for (const [match] of text.matchAll(this.splitPattern)) total += this.countPiece(match);
    return total;
  }

  private countPiece(text: string): number {
    // UTF-8 takes at most 3 bytes per UTF-16 unit (a surrogate pair: 4 for 2; a lone one becomes U+FFFD).
    const most = text.length * 3;
    if (most > KEPT_PIECE_BYTES) return this.countBytes(new Uint8Array(most), text);
    if (this.piece.length < most) this.piece = new Uint8Array(Math.min(KEPT_PIECE_BYTES, Math.max(most, 2 * this.piece.length)));
    return this.countBytes(this.piece, text);
  }

  private countBytes(buffer: Uint8Array, text: string): number {
    const length = this.utf8Into(buffer, text);
    if (length === 1 || rankOf(this.ranks, buffer, 0, length) !== NO_RANK) return 1;
    if (length >= HEAP_MERGE_MIN_BYTES) return mergedPartsByHeap(this.ranks, buffer, length);
    return mergedPartsByScan(this.ranks, buffer, length, this.partStarts, this.pairRanks);
  }

  /** Writes the text's UTF-8 bytes into `buffer` (large enough); returns their number. */
  private utf8Into(buffer: Uint8Array, text: string): number {
    for (let index = 0; index < text.length; index++) {
      const code = text.charCodeAt(index);
      if (code >= 0x80) return this.encoder.encodeInto(text, buffer).written;
      buffer[index] = code;
    }
    return text.length;
  }
}
