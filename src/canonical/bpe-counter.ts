/**
 * A byte-pair-encoding token counter over a tiktoken rank file, in typed arrays: cl100k_base's 100,256
 * ranks take about 2.1 MB here, and loading them adds about 17 MB of RSS against the 42 MB gpt-tokenizer's
 * strings and maps of the same ranks add, counting about as fast (bench/token-count.ts). Counts equal
 * gpt-tokenizer's (bpe-counter.test.ts: corpora and random text); text that looks like a special token
 * (`<|endoftext|>`) counts as the text it is, as an API counts a user's text.
 */

/** Sentinel rank for "no such token". */
const NO_RANK = 0x7fffffff;

/** The merge ranks of one encoding: every token's bytes, back to back, indexed by rank and by hash. */
export interface BpeRanks {
  readonly bytes: Uint8Array;
  /** Token `rank` is `bytes[starts[rank] .. starts[rank + 1])`. */
  readonly starts: Uint32Array;
  /** Open addressing: slot → rank + 1 (0 is empty); `mask` = slots − 1. */
  readonly slots: Int32Array;
  readonly mask: number;
}

function fnv1a(bytes: Uint8Array, start: number, end: number): number {
  let hash = 0x811c9dc5;
  for (let index = start; index < end; index++) hash = Math.imul(hash ^ (bytes[index] as number), 0x01000193);
  return hash >>> 0;
}

const BASE64_VALUE = (() => {
  const table = new Int8Array(128).fill(-1);
  const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  for (let index = 0; index < alphabet.length; index++) table[alphabet.charCodeAt(index)] = index;
  return table;
})();

const NEWLINE = 0x0a;
const SPACE = 0x20;
const EQUALS = 0x3d;
const DIGIT_ZERO = 0x30;

/** Calls `visit` with each line's base64 span and rank; throws on a malformed line. */
function forEachRankLine(file: Uint8Array, visit: (base64Start: number, base64End: number, rank: number) => void): void {
  let position = 0;
  let line = 0;
  while (position < file.length) {
    line++;
    const base64Start = position;
    while (position < file.length && file[position] !== SPACE && file[position] !== NEWLINE) position++;
    const base64End = position;
    if (position >= file.length || file[position] === NEWLINE) {
      position++;
      if (base64End === base64Start) continue; // a blank line
      throw new Error(`tiktoken ranks: line ${line} has no rank`);
    }
    position++; // the space
    let rank = 0;
    let digits = 0;
    while (position < file.length && file[position] !== NEWLINE) {
      const digit = (file[position++] as number) - DIGIT_ZERO;
      if (digit < 0 || digit > 9 || digits > 9) throw new Error(`tiktoken ranks: bad rank on line ${line}`);
      rank = rank * 10 + digit;
      digits++;
    }
    position++;
    if (digits === 0 || base64End === base64Start) throw new Error(`tiktoken ranks: line ${line} is incomplete`);
    visit(base64Start, base64End, rank);
  }
}

function decodedLength(file: Uint8Array, base64Start: number, base64End: number): number {
  let end = base64End;
  while (end > base64Start && file[end - 1] === EQUALS) end--;
  return Math.floor(((end - base64Start) * 6) / 8);
}

/** Decodes base64 `file[base64Start .. base64End)` into `target` at `offset`. */
function decodeBase64Into(file: Uint8Array, base64Start: number, base64End: number, target: Uint8Array, offset: number): void {
  let bits = 0;
  let bitCount = 0;
  let written = offset;
  for (let position = base64Start; position < base64End; position++) {
    const code = file[position] as number;
    if (code === EQUALS) break;
    const value = code < 128 ? (BASE64_VALUE[code] as number) : -1;
    if (value < 0) throw new Error("tiktoken ranks: bad base64");
    bits = ((bits << 6) | value) & 0xffffff;
    bitCount += 6;
    if (bitCount >= 8) {
      bitCount -= 8;
      target[written++] = (bits >> bitCount) & 0xff;
    }
  }
}

/**
 * Reads a `.tiktoken` file (one `base64-token rank` per line) straight into typed arrays in three passes
 * (ranks, lengths, bytes), so no per-token string or array is allocated and nothing is built twice.
 */
export function parseTiktokenRanks(file: Uint8Array): BpeRanks {
  let maxRank = -1;
  let tokens = 0;
  forEachRankLine(file, (_start, _end, rank) => {
    if (rank > maxRank) maxRank = rank;
    tokens++;
  });
  // starts[rank + 1] first holds the token's length, then the prefix sums turn lengths into offsets.
  const starts = new Uint32Array(maxRank + 2);
  forEachRankLine(file, (base64Start, base64End, rank) => {
    if (starts[rank + 1] !== 0) throw new Error(`tiktoken ranks: rank ${rank} appears twice`);
    starts[rank + 1] = decodedLength(file, base64Start, base64End);
  });
  for (let rank = 1; rank < starts.length; rank++) starts[rank] = (starts[rank] as number) + (starts[rank - 1] as number);
  const bytes = new Uint8Array(starts[maxRank + 1] as number);
  forEachRankLine(file, (base64Start, base64End, rank) => decodeBase64Into(file, base64Start, base64End, bytes, starts[rank] as number));

  let slotCount = 1;
  while (slotCount < tokens * 2) slotCount *= 2;
  const slots = new Int32Array(slotCount);
  const mask = slotCount - 1;
  for (let rank = 0; rank <= maxRank; rank++) {
    const start = starts[rank] as number;
    const end = starts[rank + 1] as number;
    if (end === start) continue;
    let slot = fnv1a(bytes, start, end) & mask;
    while ((slots[slot] as number) !== 0) slot = (slot + 1) & mask;
    slots[slot] = rank + 1;
  }
  return { bytes, starts, slots, mask };
}

/** The rank of `piece[start .. end)`, or NO_RANK. */
function rankOf(ranks: BpeRanks, piece: Uint8Array, start: number, end: number): number {
  const { bytes, starts, slots, mask } = ranks;
  const length = end - start;
  let slot = fnv1a(piece, start, end) & mask;
  for (;;) {
    const entry = slots[slot] as number;
    if (entry === 0) return NO_RANK;
    const rank = entry - 1;
    const tokenStart = starts[rank] as number;
    if ((starts[rank + 1] as number) - tokenStart === length) {
      let index = 0;
      while (index < length && bytes[tokenStart + index] === piece[start + index]) index++;
      if (index === length) return rank;
    }
    slot = (slot + 1) & mask;
  }
}

/** Counts the tokens of text split by an encoding's pre-tokenizer pattern. */
export class BpeCounter {
  private readonly encoder = new TextEncoder();
  private piece = new Uint8Array(256);
  /** Merge state: part boundaries and the rank of the pair starting at each part. */
  private partStarts = new Int32Array(257);
  private pairRanks = new Int32Array(257);

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
    const length = this.pieceBytes(text);
    if (length === 1 || rankOf(this.ranks, this.piece, 0, length) !== NO_RANK) return 1;
    return this.mergedParts(length);
  }

  /** Writes the piece's UTF-8 bytes into `this.piece`; returns their number. */
  private pieceBytes(text: string): number {
    if (this.piece.length < text.length * 3) this.grow(text.length * 3);
    const piece = this.piece;
    for (let index = 0; index < text.length; index++) {
      const code = text.charCodeAt(index);
      if (code >= 0x80) return this.encoder.encodeInto(text, piece).written;
      piece[index] = code;
    }
    return text.length;
  }

  private grow(bytes: number): void {
    this.piece = new Uint8Array(bytes);
    this.partStarts = new Int32Array(bytes + 1);
    this.pairRanks = new Int32Array(bytes + 1);
  }

  /**
   * tiktoken's merge loop: start from single bytes and repeatedly join the adjacent pair with the lowest
   * rank until no pair is a token; the parts left are the tokens.
   */
  private mergedParts(length: number): number {
    const { ranks, piece, partStarts: starts, pairRanks } = this;
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
}
