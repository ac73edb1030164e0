/**
 * The BPE count of a request's input (count_tokens, and message_start's input count on upstreams that give
 * none up front) along an agent's conversation: every turn resends the whole history plus two new
 * messages. Counted as an agent sends it (the history's texts again, as new strings of the same text)
 * against a control whose every text is new, in one process, turn by turn.
 * `--write` rewrites the "Token counting" section of docs/benchmarks.md.
 * Usage: bun bench/token-count.ts [--write] [--turns N]
 */

import { parseArgs } from "node:util";
import { countRequestTokens } from "../src/canonical/token-count.ts";
import type { ChatRequest } from "../src/canonical/request.ts";
import { writeBenchSection } from "./lib/benchmarks-doc.ts";
import { describeMachine, machineLine } from "./lib/machine.ts";
import { fixed } from "./lib/stats.ts";

const SECTION = "Token counting";
const COMMAND = "bun bench/token-count.ts --write";
const { values: flags } = parseArgs({
  args: process.argv.slice(2),
  options: { write: { type: "boolean", default: false }, turns: { type: "string", default: "30" } },
  strict: true,
});
const TURNS = Number(flags.turns);
if (!Number.isInteger(TURNS) || TURNS < 2) throw new Error(`--turns expects an integer ≥ 2, got '${flags.turns}'`);
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
].join("\n");
console.log(markdown);
if (flags.write) {
  writeBenchSection(SECTION, markdown, COMMAND);
  console.error(`wrote the "${SECTION}" section of docs/benchmarks.md`);
}
