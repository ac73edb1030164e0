/**
 * Writes src/canonical/cl100k_base.ranks: cl100k_base's ranks from gpt-tokenizer's `.tiktoken` file in
 * Tollgate's compact format (src/canonical/bpe-ranks.ts: serializeRanks), which the gateway reads without
 * parsing. Run by `bun run ranks:generate`; a test checks the file is in sync with the `.tiktoken` file.
 */

import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { parseTiktokenRanks, serializeRanks } from "../src/canonical/bpe-ranks.ts";

const root = join(import.meta.dir, "..");
export const CL100K_TIKTOKEN_PATH = join(root, "node_modules", "gpt-tokenizer", "data", "cl100k_base.tiktoken");
export const CL100K_RANKS_PATH = join(root, "src", "canonical", "cl100k_base.ranks");

export function renderCl100kRanks(): Uint8Array {
  return serializeRanks(parseTiktokenRanks(readFileSync(CL100K_TIKTOKEN_PATH)));
}

if (import.meta.main) {
  const file = renderCl100kRanks();
  writeFileSync(CL100K_RANKS_PATH, file);
  console.log(`wrote src/canonical/cl100k_base.ranks (${file.length} bytes)`);
}
