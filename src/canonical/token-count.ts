/**
 * Token counting with a real BPE tokenizer (cl100k_base's ranks from gpt-tokenizer, in the compact
 * bpe-counter.ts) over every block type: system, text, images, documents, tools, tool uses and results,
 * thinking. Used by count_tokens when no Anthropic upstream can count, and for input counts an upstream
 * does not give up front. The ranks are read on first use, so processes that never count never load them.
 */

import { LRUCache } from "lru-cache";
import { loadCl100kCounter } from "./cl100k.ts";
import type { ChatRequest, ContentBlock, DocumentBlock, ImageBlock } from "./request.ts";

type CountFn = (text: string) => number;
let tokenizer: Promise<CountFn> | null = null;

function loadTokenizer(): Promise<CountFn> {
  tokenizer ??= loadCl100kCounter().then((counter) => remembering((text) => counter.count(text)));
  return tokenizer;
}

/** Texts at least this long are remembered with their count: a conversation resends its whole history every turn. */
const REMEMBERED_MIN_CHARS = 512;
/** Characters of remembered texts at most (the cache holds the strings: about a byte a character for most text). */
const REMEMBERED_MAX_CHARS = 4 * 1024 * 1024;

/**
 * `count` with a memory of long texts: an agent's next turn (and its count_tokens calls) repeats the
 * history whose tokens were counted last turn, and counting a 90,000-character history afresh takes
 * milliseconds of the event loop (bench/token-count.ts).
 */
function remembering(count: CountFn): CountFn {
  const counts = new LRUCache<string, number>({ maxSize: REMEMBERED_MAX_CHARS, sizeCalculation: (_count, text) => text.length });
  return (text) => {
    if (text.length < REMEMBERED_MIN_CHARS) return count(text);
    const known = counts.get(text);
    if (known !== undefined) return known;
    const counted = count(text);
    counts.set(text, counted);
    return counted;
  };
}

/** Framing the chat formats add: per message, per tool, and for the reply's start. */
const MESSAGE_OVERHEAD = 3;
const TOOL_OVERHEAD = 8;
const REPLY_PRIMER = 3;
/** Anthropic's image formula is (width × height) / 750, capped near 1,600 for a 1.15 MP image. */
const IMAGE_MAX_TOKENS = 1600;
const PDF_TOKENS_PER_PAGE = 1500;

/** Pixel size of a base64 PNG, GIF, WebP or JPEG, from its header; null when unknown. */
export function imageDimensions(base64: string): { width: number; height: number } | null {
  const bytes = Buffer.from(base64.slice(0, 4096), "base64");
  if (bytes.length >= 24 && bytes.readUInt32BE(0) === 0x89504e47) return { width: bytes.readUInt32BE(16), height: bytes.readUInt32BE(20) };
  if (bytes.length >= 10 && bytes.toString("latin1", 0, 3) === "GIF") return { width: bytes.readUInt16LE(6), height: bytes.readUInt16LE(8) };
  if (bytes.length >= 30 && bytes.toString("latin1", 0, 4) === "RIFF" && bytes.toString("latin1", 12, 16) === "VP8 ")
    return { width: bytes.readUInt16LE(26) & 0x3fff, height: bytes.readUInt16LE(28) & 0x3fff };
  if (bytes.length >= 4 && bytes[0] === 0xff && bytes[1] === 0xd8) {
    let offset = 2;
    while (offset + 9 < bytes.length) {
      if (bytes[offset] !== 0xff) return null;
      const marker = bytes[offset + 1] ?? 0;
      const length = bytes.readUInt16BE(offset + 2);
      if (marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc)
        return { width: bytes.readUInt16BE(offset + 7), height: bytes.readUInt16BE(offset + 5) };
      offset += 2 + length;
    }
  }
  return null;
}

export function imageTokens(block: ImageBlock): number {
  if (block.source.kind !== "base64") return IMAGE_MAX_TOKENS;
  const size = imageDimensions(block.source.data);
  if (!size) return IMAGE_MAX_TOKENS;
  // Larger images are scaled down to about 1.15 megapixels before the model sees them.
  return Math.max(1, Math.min(IMAGE_MAX_TOKENS, Math.ceil((size.width * size.height) / 750)));
}

function documentTokens(block: DocumentBlock, count: CountFn): number {
  const source = block.source;
  if (source.kind === "text") return count(source.data);
  if (source.kind === "base64") {
    const text = Buffer.from(source.data, "base64").toString("latin1");
    const pages = text.match(/\/Type\s*\/Page(?!s)/g)?.length ?? 1;
    return Math.max(1, pages) * PDF_TOKENS_PER_PAGE;
  }
  return PDF_TOKENS_PER_PAGE;
}

function blockTokens(block: ContentBlock, count: CountFn): number {
  switch (block.type) {
    case "text":
      return count(block.text);
    case "image":
      return imageTokens(block);
    case "document":
      return documentTokens(block, count) + (block.title ? count(block.title) : 0);
    case "tool-use":
      return count(block.name) + count(typeof block.input === "string" ? block.input : JSON.stringify(block.input)) + MESSAGE_OVERHEAD;
    case "tool-result":
      return block.content.reduce((sum, inner) => sum + blockTokens(inner, count), MESSAGE_OVERHEAD);
    case "thinking":
      return count(block.text);
    case "redacted-thinking":
      // Encrypted reasoning: its size is the only measure there is.
      return Math.ceil(block.data.length / 4);
  }
}

/** Input tokens of a whole request, as the model would see it. */
export async function countRequestTokens(request: ChatRequest): Promise<number> {
  const count = await loadTokenizer();
  let total = REPLY_PRIMER;
  for (const block of request.system) total += count(block.text);
  if (request.system.length > 0) total += MESSAGE_OVERHEAD;
  for (const message of request.messages) {
    total += MESSAGE_OVERHEAD;
    for (const block of message.content) total += blockTokens(block, count);
  }
  for (const tool of request.tools) {
    total += TOOL_OVERHEAD + count(tool.name) + count(tool.description ?? "") + count(JSON.stringify(tool.inputSchema));
  }
  return total;
}

/** Output tokens of generated text, for an upstream that reported none. */
export async function countTextTokens(text: string): Promise<number> {
  return (await loadTokenizer())(text);
}
