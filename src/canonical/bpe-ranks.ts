/**
 * A tiktoken rank file (`base64-token rank` per line) in typed arrays: every token's bytes back to back,
 * indexed by rank and by an FNV-1a hash table, so a byte range's rank is one hash and one compare. cl100k_base's
 * 100,256 ranks take about 2.1 MB here (bench/token-count.ts measures the load against gpt-tokenizer's).
 * The gateway reads them from Tollgate's own compact file (readRanks), written from the `.tiktoken` file.
 */

/** Sentinel rank for "no such token". */
export const NO_RANK = 0x7fffffff;
/** Ranks above this are a malformed file (cl100k_base's highest is 100,255; o200k_base's about 200,000). */
const MAX_RANK = 1 << 24;

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
      if (digit < 0 || digit > 9) throw new Error(`tiktoken ranks: bad rank on line ${line}`);
      rank = rank * 10 + digit;
      if (rank > MAX_RANK) throw new Error(`tiktoken ranks: rank too large on line ${line}`);
      digits++;
    }
    position++;
    if (digits === 0 || base64End === base64Start) throw new Error(`tiktoken ranks: line ${line} is incomplete`);
    if (!wellPadded(file, base64Start, base64End)) throw new Error(`tiktoken ranks: bad base64 on line ${line}`);
    visit(base64Start, base64End, rank);
  }
}

/** Base64 of whole quads whose `=` padding, if any, ends it: what every well-formed token is. */
function wellPadded(file: Uint8Array, base64Start: number, base64End: number): boolean {
  if ((base64End - base64Start) % 4 !== 0) return false;
  let end = base64End;
  while (end > base64Start && base64End - end < 2 && file[end - 1] === EQUALS) end--;
  for (let index = base64Start; index < end; index++) if (file[index] === EQUALS) return false;
  return end > base64Start;
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
  forEachRankLine(file, (_start, _end, rank) => {
    if (rank > maxRank) maxRank = rank;
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

  return indexRanks(bytes, starts);
}

/**
 * The hash table over every non-empty token of `bytes` / `starts` (offsets that never go backwards): at
 * least twice as many slots as tokens, so a probe always meets an empty slot.
 */
function indexRanks(bytes: Uint8Array, starts: Uint32Array): BpeRanks {
  let tokens = 0;
  for (let rank = 0; rank + 1 < starts.length; rank++) if (starts[rank + 1] !== starts[rank]) tokens++;
  let slotCount = 1;
  while (slotCount < tokens * 2) slotCount *= 2;
  const slots = new Int32Array(slotCount);
  const mask = slotCount - 1;
  for (let rank = 0; rank + 1 < starts.length; rank++) {
    const start = starts[rank] as number;
    const end = starts[rank + 1] as number;
    if (end === start) continue;
    let slot = fnv1a(bytes, start, end) & mask;
    while ((slots[slot] as number) !== 0) slot = (slot + 1) & mask;
    slots[slot] = rank + 1;
  }
  return { bytes, starts, slots, mask };
}

/**
 * Ranks in Tollgate's own file (scripts/gen-bpe-ranks.ts writes it from a `.tiktoken` file): a 16-byte
 * header (RANKS_MAGIC, the number of `starts` and of bytes, little-endian u32s), `starts` as
 * little-endian u32s, then the tokens' bytes. Reading it is two views and the hash table, with none of
 * the base64 and text parsing: parsing cl100k_base's rank file took ~5 MB of RSS more, most of it the
 * JIT compiling the parser's loops for the one time they run (docs/benchmarks.md "Token counting").
 */
const RANKS_MAGIC = "tgbpe1\n\0";
const RANKS_HEADER_BYTES = 16;

export function serializeRanks(ranks: BpeRanks): Uint8Array {
  const startsBytes = ranks.starts.length * 4;
  const file = new Uint8Array(RANKS_HEADER_BYTES + startsBytes + ranks.bytes.length);
  const view = new DataView(file.buffer);
  file.set(new TextEncoder().encode(RANKS_MAGIC), 0);
  view.setUint32(8, ranks.starts.length, true);
  view.setUint32(12, ranks.bytes.length, true);
  for (let index = 0; index < ranks.starts.length; index++) view.setUint32(RANKS_HEADER_BYTES + index * 4, ranks.starts[index] as number, true);
  file.set(ranks.bytes, RANKS_HEADER_BYTES + startsBytes);
  return file;
}

const LITTLE_ENDIAN = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;

/** Reads a file serializeRanks wrote; throws on anything else. The views share `buffer`. */
export function readRanks(buffer: ArrayBuffer): BpeRanks {
  const fail = (why: string): never => {
    throw new Error(`bpe ranks file: ${why}`);
  };
  if (!LITTLE_ENDIAN) fail("this platform is big-endian; the file's u32s are little-endian");
  if (buffer.byteLength < RANKS_HEADER_BYTES) fail("shorter than its header");
  if (new TextDecoder().decode(new Uint8Array(buffer, 0, 8)) !== RANKS_MAGIC) fail("not a ranks file");
  const view = new DataView(buffer);
  const startCount = view.getUint32(8, true);
  const byteCount = view.getUint32(12, true);
  if (buffer.byteLength !== RANKS_HEADER_BYTES + startCount * 4 + byteCount) fail("its length differs from its header's");
  const starts = new Uint32Array(buffer, RANKS_HEADER_BYTES, startCount);
  const bytes = new Uint8Array(buffer, RANKS_HEADER_BYTES + startCount * 4, byteCount);
  for (let rank = 0; rank + 1 < startCount; rank++) {
    if ((starts[rank + 1] as number) < (starts[rank] as number)) fail(`token offsets go backwards at rank ${rank}`);
  }
  if (starts[0] !== 0 || starts[startCount - 1] !== byteCount) fail("token offsets do not span its bytes");
  return indexRanks(bytes, starts);
}

/** The rank of `piece[start .. end)`, or NO_RANK. */
export function rankOf(ranks: BpeRanks, piece: Uint8Array, start: number, end: number): number {
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
