/**
 * Run in a fresh process by bench/token-count.ts: loads one tokenizer (Tollgate's compact counter over
 * cl100k_base's ranks, or gpt-tokenizer's own cl100k_base module), counts one text, and prints what the
 * load cost as JSON: wall time, RSS and JavaScript heap added (after a full collection).
 * Usage: bun bench/lib/tokenizer-probe.ts compact|gpt-tokenizer
 */

import { heapSize } from "bun:jsc";

const which = process.argv[2];
if (which !== "compact" && which !== "gpt-tokenizer") throw new Error("expects compact or gpt-tokenizer");
const rssMb = () => process.memoryUsage().rss / 1_048_576;
Bun.gc(true);
const rssBefore = rssMb();
const heapBefore = heapSize();
const started = performance.now();
let count: (text: string) => number;
if (which === "compact") {
  const counter = await (await import("../../src/canonical/cl100k.ts")).loadCl100kCounter();
  count = (text) => counter.count(text);
} else {
  count = (await import("gpt-tokenizer/encoding/cl100k_base")).countTokens;
}
const tokens = count("The quick brown fox jumps over the lazy dog.");
const loadMs = performance.now() - started;
Bun.gc(true);
console.log(JSON.stringify({ which, tokens, loadMs, rssMb: rssMb() - rssBefore, heapMb: (heapSize() - heapBefore) / 1_048_576 }));
