/**
 * A cheap, deterministic token estimate for text: one token per word-piece of up to four letters or
 * digits, per punctuation mark, and per non-ASCII character. It leans high against BPE tokenizers on
 * English and code, which is the safe side for holds. Used where no upstream count exists yet.
 */

import type { ChatRequest, ContentBlock, DocumentBlock, ImageBlock } from "./request.ts";

/** ASCII letters and digits: the characters word-pieces are made of. */
function isWordChar(code: number): boolean {
  return (code >= 48 && code <= 57) || (code >= 65 && code <= 90) || (code >= 97 && code <= 122);
}

/** The characters of JavaScript's `\s` (whitespace and line terminators). */
function isSpace(code: number): boolean {
  if (code <= 32) return code === 32 || (code >= 9 && code <= 13);
  if (code < 0xa0) return false;
  return code === 0xa0 || code === 0x1680 || (code >= 0x2000 && code <= 0x200a) || code === 0x2028 || code === 0x2029 || code === 0x202f || code === 0x205f || code === 0x3000 || code === 0xfeff;
}

/**
 * One UTF-16 code unit into a count: `inPiece` is how many letters or digits the current word-piece
 * holds (a piece holds up to four). Returns the new `inPiece`, plus 4 when the unit starts a token.
 */
function pieceStep(code: number, inPiece: number): number {
  if (isWordChar(code)) return (inPiece === 0 ? 4 : 0) + (inPiece === 3 ? 0 : inPiece + 1);
  return isSpace(code) ? 0 : 4;
}

/**
 * The count of `/[A-Za-z0-9]{1,4}|[^\sA-Za-z0-9]/g` matches, by one scan of the UTF-16 code units
 * (no match objects: every streamed delta and every request passes through here).
 */
export function estimateTextTokens(text: string): number {
  let count = 0;
  let inPiece = 0;
  for (let index = 0; index < text.length; index++) {
    const step = pieceStep(text.charCodeAt(index), inPiece);
    count += step >> 2;
    inPiece = step & 3;
  }
  return count;
}

/**
 * `estimateTextTokens` of ASCII text given as its bytes (each byte one UTF-16 code unit), without making
 * a string of them: the text of an upstream's JSON string literal read as bytes.
 */
export function estimateAsciiTokens(bytes: Uint8Array, start: number, end: number): number {
  let count = 0;
  let inPiece = 0;
  for (let index = start; index < end; index++) {
    const step = pieceStep(bytes[index] as number, inPiece);
    count += step >> 2;
    inPiece = step & 3;
  }
  return count;
}

/** The text a block contributes to a token count. */
export function blockText(block: ContentBlock): string {
  switch (block.type) {
    case "text":
      return block.text;
    case "thinking":
      return block.text;
    case "tool-use":
      return `${block.name} ${JSON.stringify(block.input)}`;
    case "tool-result":
      return block.content.map(blockText).join(" ");
    case "image":
    case "document":
      return block.source.kind === "url" ? block.source.url : "[media]";
    case "redacted-thinking":
      return "";
  }
}

/**
 * What the hold counts for an image: Anthropic bills about width × height / 750 tokens, up to ~1,600 for
 * the largest it takes; OpenAI's high detail stays below that. The upper bound, since the size is unknown.
 */
export const IMAGE_TOKEN_ESTIMATE = 1_600;
/** A binary document (a PDF) by its size: Anthropic bills each page's text and its image (~1,500–3,000 tokens). */
const DOCUMENT_BYTES_PER_TOKEN = 16;

/** Estimated tokens of a media block, which no text count sees. */
function mediaTokens(block: ImageBlock | DocumentBlock): number {
  if (block.type === "image") return IMAGE_TOKEN_ESTIMATE;
  const source = block.source;
  if (source.kind === "text") return estimateTextTokens(source.data);
  if (source.kind === "url") return IMAGE_TOKEN_ESTIMATE;
  // Base64: three bytes every four characters.
  return Math.max(IMAGE_TOKEN_ESTIMATE, Math.ceil((source.data.length * 3) / 4 / DOCUMENT_BYTES_PER_TOKEN));
}

function blockTokens(block: ContentBlock): number {
  if (block.type === "image" || block.type === "document") return mediaTokens(block);
  if (block.type === "tool-result") return block.content.reduce((sum, part) => sum + blockTokens(part), 0);
  return estimateTextTokens(blockText(block));
}

/** Estimated input tokens of a whole request: system, messages (with framing), media, tools. */
export function estimateRequestTokens(request: ChatRequest): number {
  let tokens = 0;
  for (const block of request.system) tokens += estimateTextTokens(block.text);
  for (const message of request.messages) {
    tokens += 4; // role and message framing
    for (const block of message.content) tokens += blockTokens(block);
  }
  for (const tool of request.tools) {
    tokens += estimateTextTokens(`${tool.name} ${tool.description ?? ""} ${JSON.stringify(tool.inputSchema)}`);
  }
  return Math.max(tokens, 1);
}

