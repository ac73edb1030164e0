/** Token counting with the BPE tokenizer, and its memory of long texts (a conversation resent every turn). */

import { describe, expect, test } from "bun:test";
import { countTokens } from "gpt-tokenizer/encoding/cl100k_base";
import type { ChatRequest } from "./request.ts";
import { countRequestTokens } from "./token-count.ts";

function request(texts: string[]): ChatRequest {
  return {
    system: [],
    messages: texts.map((text, index) => ({ role: index % 2 === 0 ? "user" : "assistant", content: [{ type: "text", text }] })),
    tools: [],
  } as unknown as ChatRequest;
}

/** The same count without the gateway's memory: the tokenizer over each text, plus the framing. */
function expected(texts: string[]): number {
  return 3 + texts.reduce((sum, text) => sum + 3 + countTokens(text), 0);
}

describe("countRequestTokens", () => {
  test("short and long texts count as the tokenizer counts them, the first time and every time after", async () => {
    const long = "The quick brown fox jumps over the lazy dog, again and again. ".repeat(40);
    const texts = ["hello", long, `${long} and one more sentence`, "é ☕ 日本語"];
    expect(await countRequestTokens(request(texts))).toBe(expected(texts));
    // Counted again (the long ones from memory), in another order, and with an equal string built anew.
    const again = [texts[3] as string, `${"The quick brown fox jumps over the lazy dog, again and again. ".repeat(40)}`, texts[2] as string, "hello"];
    expect(await countRequestTokens(request(again))).toBe(expected(again));
  });

  test("a text that differs at its end from a remembered one is counted afresh", async () => {
    const base = "word ".repeat(300);
    expect(await countRequestTokens(request([base]))).toBe(expected([base]));
    const changed = `${base.slice(0, -5)}wordy words`;
    expect(await countRequestTokens(request([changed]))).toBe(expected([changed]));
    expect(expected([changed])).not.toBe(expected([base]));
  });
});
