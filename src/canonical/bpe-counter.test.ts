/** The compact BPE counter: its rank-file reader, its two merge loops, and equality with gpt-tokenizer's counts. */

import { describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import fc from "fast-check";
import { countTokens } from "gpt-tokenizer/encoding/cl100k_base";
import { CL100K_TOKEN_SPLIT_REGEX } from "gpt-tokenizer/encodingParams/constants";
import { BpeCounter, mergedPartsByHeap, mergedPartsByScan } from "./bpe-counter.ts";
import { parseTiktokenRanks, readRanks, serializeRanks } from "./bpe-ranks.ts";
import { CL100K_RANKS_PATH, renderCl100kRanks } from "../../scripts/gen-bpe-ranks.ts";
import { CL100K_SPLIT_PATTERN, loadCl100kCounter } from "./cl100k.ts";

const ROOT = join(import.meta.dir, "..", "..");
const base64 = (text: string) => Buffer.from(text, "latin1").toString("base64");
const rankFile = (lines: string[]) => new TextEncoder().encode(lines.join("\n"));

/** gpt-tokenizer's count with special-token text counted as ordinary text, as the gateway counts it. */
const reference = (text: string) => countTokens(text, { disallowedSpecial: new Set() });

describe("parseTiktokenRanks", () => {
  test("lays tokens out by rank, whatever the line order, and indexes every one", () => {
    const ranks = parseTiktokenRanks(rankFile([`${base64("ab")} 2`, `${base64("a")} 0`, "", `${base64("b")} 1`, `${base64("\xff\x00")} 3`, ""]));
    expect([...ranks.starts]).toEqual([0, 1, 2, 4, 6]);
    expect(Buffer.from(ranks.bytes).toString("latin1")).toBe("abab\xff\x00");
    expect(ranks.slots.filter((slot) => slot !== 0).length).toBe(4);
    expect(ranks.mask + 1).toBe(8);
  });

  test("a rank missing from the file is an empty token that nothing matches", () => {
    const ranks = parseTiktokenRanks(rankFile([`${base64("a")} 0`, `${base64("b")} 2`]));
    expect([...ranks.starts]).toEqual([0, 1, 1, 2]);
    expect(new BpeCounter(ranks, /\S+/gu).count("ab")).toBe(2);
  });

  test.each([
    ["no rank", [base64("a")]],
    ["a bad base64 character", ["a*== 0"]],
    ["a bad rank", [`${base64("a")} 1x`]],
    ["a rank given twice", [`${base64("a")} 0`, `${base64("b")} 0`]],
    ["a missing token", [" 0"]],
    ["a token of no bytes", ["= 0", `${base64("a")} 1`]],
    ["padding inside the token", ["YQ==YQ 0"]],
    ["base64 of a partial quad", ["YQ 0"]],
    ["a rank past any encoding", [`${base64("a")} 4294967295`]],
  ])("refuses a file with %s", (_name, lines) => {
    expect(() => parseTiktokenRanks(rankFile(lines))).toThrow(/tiktoken ranks/);
  });
});

describe("the compact ranks file", () => {
  const parsed = parseTiktokenRanks(rankFile([`${base64("ab")} 2`, `${base64("a")} 0`, `${base64("\xff\x00")} 4`, `${base64("b")} 1`]));
  const serialized = serializeRanks(parsed);
  const bufferOf = (bytes: Uint8Array) => bytes.slice().buffer;

  test("reads back what was parsed: the same tokens, offsets and hash table", () => {
    const read = readRanks(bufferOf(serialized));
    expect([...read.starts]).toEqual([...parsed.starts]);
    expect([...read.bytes]).toEqual([...parsed.bytes]);
    expect([...read.slots]).toEqual([...parsed.slots]);
    expect(read.mask).toBe(parsed.mask);
    expect(new BpeCounter(read, /\S+/gu).count("ab \xff")).toBe(new BpeCounter(parsed, /\S+/gu).count("ab \xff"));
  });

  test("src/canonical/cl100k_base.ranks is cl100k_base.tiktoken's ranks (run `bun run ranks:generate` if not)", () => {
    expect(Buffer.compare(readFileSync(CL100K_RANKS_PATH), renderCl100kRanks())).toBe(0);
  });

  const corrupt = (edit: (bytes: Uint8Array, view: DataView) => Uint8Array): ArrayBuffer => {
    const bytes = serialized.slice();
    return bufferOf(edit(bytes, new DataView(bytes.buffer)));
  };
  test.each([
    ["another magic", (bytes: Uint8Array) => (bytes.set([0x78], 0), bytes)],
    ["a truncated header", (bytes: Uint8Array) => bytes.subarray(0, 10)],
    ["a missing last byte", (bytes: Uint8Array) => bytes.subarray(0, bytes.length - 1)],
    ["no offsets", (bytes: Uint8Array, view: DataView) => (view.setUint32(8, 0, true), bytes)],
    ["a byte count its length does not match", (bytes: Uint8Array, view: DataView) => (view.setUint32(12, 99, true), bytes)],
    ["offsets that go backwards", (bytes: Uint8Array, view: DataView) => (view.setUint32(16 + 2 * 4, 0, true), bytes)],
    ["offsets that do not start at 0", (bytes: Uint8Array, view: DataView) => (view.setUint32(16, 1, true), bytes)],
    ["offsets that end before its last byte", (bytes: Uint8Array, view: DataView) => (view.setUint32(16 + (parsed.starts.length - 1) * 4, parsed.bytes.length - 1, true), bytes)],
  ])("refuses a file with %s", (_name, edit) => {
    expect(() => readRanks(corrupt(edit))).toThrow(/bpe ranks file/);
  });
});

describe("BpeCounter merge loop", () => {
  // Bytes a, b, c; merges "ab" (rank 3) before "bc" (4), and "abc" (5) from "ab" + "c".
  const ranks = parseTiktokenRanks(rankFile(["a", "b", "c", "ab", "bc", "abc"].map((token, rank) => `${base64(token)} ${rank}`)));
  const counter = new BpeCounter(ranks, /\S+|\s+/gu);

  test.each([
    ["abc", 1], // a·b·c → ab·c → abc
    ["bca", 2], // b·c·a → bc·a
    ["abab", 2], // ab·ab
    ["cab", 2], // c·a·b → c·ab
    ["abc abc", 3], // abc · " " · abc: a one-byte piece is one token
  ])("%s counts %i tokens", (text, expected) => {
    expect(counter.count(text)).toBe(expected);
  });
});

describe("cl100k_base: the same counts as gpt-tokenizer", () => {
  test("the split pattern is gpt-tokenizer's", () => {
    expect(CL100K_SPLIT_PATTERN).toBe(CL100K_TOKEN_SPLIT_REGEX.source);
  });

  test("over prose, code, JSON and every script in the repository's own texts", async () => {
    const counter = await loadCl100kCounter();
    const texts = ["README.md", "docs/benchmarks.md", "src/canonical/bpe-counter.ts", "config.example.toml", "package.json"].map((file) => readFileSync(join(ROOT, file), "utf8"));
    texts.push("héllo wörld 你好世界 🎉🎉 مرحبا שלום Привет नमस्ते\r\n\r\n\ttabs 12345678 ", " ".repeat(3000), "a".repeat(2000), "<|endoftext|> and <|im_start|>");
    for (const text of texts) expect(counter.count(text)).toBe(reference(text));
  });

  test("over random text of any code points", async () => {
    const counter = await loadCl100kCounter();
    fc.assert(
      fc.property(fc.string({ unit: "binary", maxLength: 300 }), (text) => counter.count(text) === reference(text)),
      { numRuns: 500 },
    );
    fc.assert(
      fc.property(fc.string({ unit: fc.constantFrom("a", "b", " ", "\n", "'", "s", "1", "é", "日", "!", "\t", "ll"), maxLength: 200 }), (text) => counter.count(text) === reference(text)),
      { numRuns: 500 },
    );
  });

  test("pieces are looked up by their bytes, as tiktoken does: a byte-order mark joins the word after it", async () => {
    const counter = await loadCl100kCounter();
    // cl100k_base has "\uFEFF" (rank 3305) and "\uFEFFusing" (rank 4117); gpt-tokenizer counts 2 and 3 here.
    expect(counter.count("\uFEFF")).toBe(1);
    expect(counter.count("\uFEFFusing")).toBe(1);
    expect(counter.count("\uFEFFusing System;")).toBe(reference("using System;"));
  });

  test("long pieces (one word of thousands of letters, a run of one character) count as gpt-tokenizer counts them", async () => {
    const counter = await loadCl100kCounter();
    const letters = fc.string({ unit: fc.constantFrom("a", "b", "e", "r", "t", "é", "ß", "ü"), minLength: 96, maxLength: 1500 });
    fc.assert(
      fc.property(letters, (word) => counter.count(word) === reference(word)),
      { numRuns: 40 },
    );
    for (const text of ["a".repeat(5000), "ab".repeat(2500), "🎉".repeat(700), "Zz".repeat(3000)]) expect(counter.count(text)).toBe(reference(text));
  });

  test("the empty text is no tokens", async () => {
    expect((await loadCl100kCounter()).count("")).toBe(0);
  });
});

describe("the two merge loops", () => {
  test("the heap merges exactly as the scan does, on random bytes under random small vocabularies", () => {
    const vocabulary = fc.uniqueArray(fc.string({ unit: fc.constantFrom("a", "b", "c"), minLength: 2, maxLength: 5 }), { maxLength: 30 });
    fc.assert(
      fc.property(vocabulary, fc.string({ unit: fc.constantFrom("a", "b", "c"), minLength: 1, maxLength: 200 }), (merges, text) => {
        const ranks = parseTiktokenRanks(rankFile(["a", "b", "c", ...merges].map((token, rank) => `${base64(token)} ${rank}`)));
        const piece = new TextEncoder().encode(text);
        const scanned = mergedPartsByScan(ranks, piece, piece.length, new Int32Array(piece.length + 1), new Int32Array(piece.length + 1));
        expect(mergedPartsByHeap(ranks, piece, piece.length)).toBe(scanned);
      }),
      { numRuns: 500 },
    );
  });
});
