/** The OpenAI stream encoder's text runs (its other events: test/e2e and src/gateway/relay.test.ts). */

import { describe, expect, test } from "bun:test";
import { createOpenAIStreamEncoder } from "./encode-stream.ts";
import { textRunOf } from "../../../test/harness/events.ts";

const META = { model: "m", createdSec: 1_700_000_000, includeUsage: false, usageEvent: false };

describe("createOpenAIStreamEncoder", () => {
  test("a text run is the content chunks of its texts, as block-deltas give them; nothing after the end", () => {
    const texts = ["one ", 'say "hi"\n', "thré€ ", "😀"];
    const byRun = createOpenAIStreamEncoder(META);
    const perDelta = createOpenAIStreamEncoder(META);
    const run = byRun.encodeTextRun({ type: "text-run", index: 0, run: textRunOf(texts) });
    const deltas = texts.map((text) => perDelta.encode({ type: "block-delta", index: 0, delta: { type: "text", text } })).join("");
    // The completion ids differ between encoders: compare the chunks without them.
    const withoutIds = (wire: string) => wire.replace(/"id":"chatcmpl-[^"]+"/g, '"id":""');
    expect(typeof run).toBe("string");
    expect(withoutIds(run as string)).toBe(withoutIds(deltas));
    const contents = [...(run as string).matchAll(/^data: (.*)$/gm)].map((match) => (JSON.parse(match[1] ?? "") as { choices: { delta: { content: string } }[] }).choices[0]?.delta.content);
    expect(contents).toEqual(texts);
    byRun.encode({ type: "error", kind: "upstream_error", message: "gone" });
    expect(byRun.encodeTextRun({ type: "text-run", index: 0, run: textRunOf(texts) })).toBe("");
  });
});
