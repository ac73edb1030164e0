/**
 * A cheap, deterministic token estimate for text: one token per word-piece of up to four letters or
 * digits, per punctuation mark, and per non-ASCII character. It leans high against BPE tokenizers on
 * English and code, which is the safe side for holds. Used where no upstream count exists yet.
 */

import type { ChatRequest, ContentBlock } from "./request.ts";

const PIECE = /[A-Za-z0-9]{1,4}|[^\sA-Za-z0-9]/g;

export function estimateTextTokens(text: string): number {
  if (text === "") return 0;
  let count = 0;
  PIECE.lastIndex = 0;
  while (PIECE.exec(text) !== null) count++;
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

/** Estimated input tokens of a whole request: system, messages (with framing), tools. */
export function estimateRequestTokens(request: ChatRequest): number {
  let tokens = 0;
  for (const block of request.system) tokens += estimateTextTokens(block.text);
  for (const message of request.messages) {
    tokens += 4; // role and message framing
    for (const block of message.content) {
      tokens += block.type === "image" ? 85 : estimateTextTokens(blockText(block));
    }
  }
  for (const tool of request.tools) {
    tokens += estimateTextTokens(`${tool.name} ${tool.description ?? ""} ${JSON.stringify(tool.inputSchema)}`);
  }
  return Math.max(tokens, 1);
}

