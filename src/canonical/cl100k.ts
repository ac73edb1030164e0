/**
 * The cl100k_base encoding: its ranks in Tollgate's compact file (written from gpt-tokenizer's rank file
 * by scripts/gen-bpe-ranks.ts; embedded as a file in the compiled binary, read once on first use) and
 * tiktoken's pre-tokenizer pattern for it, over the compact BpeCounter.
 */

import ranksPath from "./cl100k_base.ranks" with { type: "file" };
import { BpeCounter } from "./bpe-counter.ts";
import { readRanks } from "./bpe-ranks.ts";

/**
 * tiktoken's cl100k_base split pattern in JavaScript syntax (no possessive quantifiers), as gpt-tokenizer
 * writes it; bpe-counter.test.ts checks the two stay equal.
 */
export const CL100K_SPLIT_PATTERN = String.raw`'(?:[sS]|[dD]|[mM]|[tT]|[lL][lL]|[vV][eE]|[rR][eE])|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s+$|\s*[\r\n]|\s+(?!\S)|\s`;

export async function loadCl100kCounter(): Promise<BpeCounter> {
  return new BpeCounter(readRanks(await Bun.file(ranksPath).arrayBuffer()), new RegExp(CL100K_SPLIT_PATTERN, "gu"));
}
