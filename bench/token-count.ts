/**
 * The BPE count of a request's input (count_tokens, and message_start's input count on upstreams that give
 * none up front) along an agent's conversation: every turn resends the whole history plus two new
 * messages. Counted as an agent sends it (the history's texts again, as new strings of the same text)
 * against a control whose every text is new, in one process, turn by turn. Then the tokenizer itself
 * against gpt-tokenizer's: what loading it costs (fresh processes, alternating) and counting speed.
 * `--write` rewrites the "Token counting" section of docs/benchmarks.md.
 * Usage: bun bench/token-count.ts [--write] [--turns N] [--loads N]
 */

import { readFileSync } from "node:fs";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { countTokens as gptTokenizerCount } from "gpt-tokenizer/encoding/cl100k_base";
import { loadCl100kCounter } from "../src/canonical/cl100k.ts";
import { countRequestTokens } from "../src/canonical/token-count.ts";
import type { ChatRequest } from "../src/canonical/request.ts";
import { publishBenchSection } from "./lib/benchmarks-doc.ts";
import { integerFlag } from "./lib/flags.ts";
import { describeMachine, machineLine } from "./lib/machine.ts";
import { fixed, summarize } from "./lib/stats.ts";

const SECTION = "Token counting";
const COMMAND = "bun bench/token-count.ts --write";
const { values: flags } = parseArgs({
  args: process.argv.slice(2),
  options: { write: { type: "boolean", default: false }, turns: { type: "string", default: "30" }, loads: { type: "string", default: "3" } },
  strict: true,
});
const TURNS = Number(flags.turns);
if (!Number.isInteger(TURNS) || TURNS < 2) throw new Error(`--turns expects an integer ≥ 2, got '${flags.turns}'`);
const LOADS = integerFlag("loads", flags.loads, 1, 20);
/** About 1,500 characters a message (~350 tokens): prose with some code-like text. */
const PARAGRAPH = "The function reads the configuration, validates every field and returns a typed result; `const x = parse(input)` fails on bad input. ";

function message(turn: number, side: number, salt: string): string {
  // A fresh string each time it is built, as a request's JSON.parse gives one.
  return `${salt}Turn ${turn}, message ${side}: ${PARAGRAPH.repeat(11)}`;
}

function conversation(turns: number, salt: (turn: number) => string): ChatRequest {
  const messages = [];
  for (let turn = 0; turn < turns; turn++) {
    for (const side of [0, 1]) messages.push({ role: side === 0 ? "user" : "assistant", content: [{ type: "text", text: message(turn, side, salt(turn)) }] });
  }
  return { system: [], messages, tools: [] } as unknown as ChatRequest;
}

async function timeMs(request: ChatRequest): Promise<number> {
  const started = performance.now();
  await countRequestTokens(request);
  return performance.now() - started;
}

await countRequestTokens(conversation(2, () => "warm-up ")); // loads the tokenizer
const rows: { turn: number; chars: number; resent: number; fresh: number }[] = [];
let run = 0;
for (let turn = 1; turn <= TURNS; turn++) {
  run++;
  const resent = conversation(turn, () => "");
  // The control: every text of the conversation new this turn (as if nothing had been counted before).
  const fresh = conversation(turn, () => `run ${run} `);
  const chars = resent.messages.reduce((sum, item) => sum + (item.content[0] as { text: string }).text.length, 0);
  const order = turn % 2 === 0;
  const first = await timeMs(order ? resent : fresh);
  const second = await timeMs(order ? fresh : resent);
  rows.push({ turn, chars, resent: order ? first : second, fresh: order ? second : first });
}

const shown = rows.filter((row) => row.turn === 1 || row.turn % 5 === 0);
const last = rows.at(-1) as (typeof rows)[number];
const total = (key: "resent" | "fresh") => rows.reduce((sum, row) => sum + row[key], 0);

// The tokenizer against gpt-tokenizer's own cl100k_base: loading it, in fresh processes taking turns.
type Tokenizer = "compact" | "gpt-tokenizer";
interface LoadProbe {
  tokens: number;
  loadMs: number;
  rssMb: number;
  heapMb: number;
}
const loads: Record<Tokenizer, LoadProbe[]> = { compact: [], "gpt-tokenizer": [] };
for (let round = 0; round < LOADS; round++) {
  const order: Tokenizer[] = round % 2 === 0 ? ["compact", "gpt-tokenizer"] : ["gpt-tokenizer", "compact"];
  for (const which of order) {
    const probe = Bun.spawnSync(["bun", join(import.meta.dir, "lib", "tokenizer-probe.ts"), which], { stdout: "pipe", stderr: "pipe" });
    if (probe.exitCode !== 0) throw new Error(`tokenizer probe ${which} failed: ${probe.stderr.toString().slice(-500)}`);
    loads[which].push(JSON.parse(probe.stdout.toString()) as LoadProbe);
  }
}
const median = (which: Tokenizer, key: keyof LoadProbe) => summarize(loads[which].map((probe) => probe[key])).median;

// Counting speed over the repository's own prose, code and config, both tokenizers in this process.
const ROOT = join(import.meta.dir, "..");
const corpus = ["README.md", "docs/benchmarks.md", "src/canonical/bpe-counter.ts", "src/gateway/dispatch.ts", "config.example.toml"]
  .map((file) => readFileSync(join(ROOT, file), "utf8"))
  .join("\n");
const compact = await loadCl100kCounter();
/** Special-token text counted as text, as the gateway counts it (gpt-tokenizer otherwise refuses it). */
const asText = { disallowedSpecial: new Set<string>() };
if (compact.count(corpus) !== gptTokenizerCount(corpus, asText)) throw new Error("the two tokenizers disagree on the corpus");
const countMs: Record<Tokenizer, number[]> = { compact: [], "gpt-tokenizer": [] };
const countWith: Record<Tokenizer, (text: string) => number> = { compact: (text) => compact.count(text), "gpt-tokenizer": (text) => gptTokenizerCount(text, asText) };
for (let round = 0; round < 12; round++) {
  const order: Tokenizer[] = round % 2 === 0 ? ["compact", "gpt-tokenizer"] : ["gpt-tokenizer", "compact"];
  for (const which of order) {
    const started = performance.now();
    countWith[which](corpus);
    countMs[which].push(performance.now() - started);
  }
}
// The first rounds warm the JIT up; the median of the rest.
const countMedian = (which: Tokenizer) => summarize(countMs[which].slice(4)).median;
const corpusTokens = compact.count(corpus);

// One piece of many bytes (a word with no spaces, a pasted blob): tiktoken's merge loop is quadratic in it.
const LONG_WORD = 20_000;
const HUGE_WORD = 1_000_000;
const word = (letters: number) => "abcdefghijklmnopqrstuvwxyz".repeat(Math.ceil(letters / 26)).slice(0, letters);
const timed = (count: (text: string) => number, text: string) => {
  const started = performance.now();
  count(text);
  return performance.now() - started;
};
const longWordMs = { compact: timed(countWith.compact, word(LONG_WORD)), "gpt-tokenizer": timed(countWith["gpt-tokenizer"], word(LONG_WORD)) };
const hugeWordMs = timed(countWith.compact, word(HUGE_WORD));

const markdown = [
  `Measured ${machineLine(describeMachine())}. Reproduce: \`${COMMAND}\`.`,
  "",
  `An agent's conversation of ${TURNS} turns, two ~1,500-character messages a turn; each turn's request holds the whole history.`,
  "`countRequestTokens` (count_tokens without an Anthropic upstream; message_start's input count on OpenAI upstreams) counts",
  "each turn as the agent sends it, its history as new strings of the same texts, against a control whose every text is new",
  "(the cost before texts of 512 characters and more were remembered). Wall time on the event loop, ms:",
  "",
  "| turn | characters | history resent | every text new |",
  "|---:|---:|---:|---:|",
  ...shown.map((row) => `| ${row.turn} | ${row.chars.toLocaleString("en-US")} | ${fixed(row.resent, 2)} | ${fixed(row.fresh, 2)} |`),
  "",
  `At turn ${last.turn} (${last.chars.toLocaleString("en-US")} characters) a count takes ${fixed(last.resent, 2)} ms instead of ${fixed(last.fresh, 2)} ms;`,
  `over the ${TURNS} turns ${fixed(total("resent"), 1)} ms instead of ${fixed(total("fresh"), 1)} ms. The memory holds up to 4 M characters of texts.`,
  "",
  "The tokenizer (src/canonical/bpe-counter.ts: cl100k_base's ranks in three typed arrays, read from Tollgate's compact file of gpt-tokenizer's ranks)",
  "against gpt-tokenizer's own cl100k_base module (strings, maps and arrays of its ranks). Loading each and counting one",
  `sentence in a fresh process (\`bench/lib/tokenizer-probe.ts\`), ${LOADS} processes each taking turns, medians; RSS and heap after a`,
  `full collection. Counting speed: the repository's README, benchmark doc, two sources and the example config (${corpus.length.toLocaleString("en-US")}`,
  `characters, ${corpusTokens.toLocaleString("en-US")} tokens, the same count from both), 12 rounds taking turns in one process, median of the last 8:`,
  "",
  "| tokenizer | load and first count, ms | RSS added, MB | JS heap added, MB | counting the corpus, ms |",
  "|---|---:|---:|---:|---:|",
  ...(["compact", "gpt-tokenizer"] as const).map(
    (which) =>
      `| ${which === "compact" ? "Tollgate's compact counter" : "gpt-tokenizer"} | ${fixed(median(which, "loadMs"), 0)} | ${fixed(median(which, "rssMb"))} | ${fixed(median(which, "heapMb"))} | ${fixed(countMedian(which))} |`,
  ),
  "",
  `One word of ${LONG_WORD.toLocaleString("en-US")} letters (a single piece: tiktoken's merge loop is quadratic in its length) takes`,
  `${fixed(longWordMs.compact, 1)} ms with the compact counter, whose long pieces merge through a heap, against ${fixed(longWordMs["gpt-tokenizer"], 0)} ms with`,
  `gpt-tokenizer; one of ${HUGE_WORD.toLocaleString("en-US")} letters ${fixed(hugeWordMs, 0)} ms (gpt-tokenizer's loop would need about 2,500 times its 20,000-letter time).`,
  "",
  "bpe-counter.test.ts checks the counts equal gpt-tokenizer's on the repository's texts, on random text of any code points and on",
  "long words, and the heap's merges equal the scan's; text with U+FEFF differs, where the compact counter follows tiktoken.",
  "",
].join("\n");
publishBenchSection(SECTION, markdown, COMMAND, flags.write);
