import { describe, expect, test } from "bun:test";
import { decodeOpenAIRequest } from "./decode-request.ts";
import type { OpenAIChatRequest } from "./wire.ts";

const decode = (body: Record<string, unknown>) => decodeOpenAIRequest(body as unknown as OpenAIChatRequest, body);
const EPHEMERAL = { type: "ephemeral" } as const;

describe("cache_control (LiteLLM / OpenRouter style) becomes the canonical cache hint", () => {
  test("on content parts, on a message (its last block), on tools; a ttl is kept, other types ignored", () => {
    const { request, uncarried } = decode({
      model: "m",
      messages: [
        { role: "system", content: [{ type: "text", text: "rules", cache_control: { type: "ephemeral", ttl: "1h" } }] },
        { role: "developer", content: "more rules", cache_control: EPHEMERAL },
        {
          role: "user",
          content: [
            { type: "text", text: "doc", cache_control: EPHEMERAL },
            { type: "image_url", image_url: { url: "data:image/png;base64,AAAA" }, cache_control: EPHEMERAL },
            { type: "text", text: "question", cache_control: { type: "persistent" } },
          ],
        },
        { role: "assistant", content: null, tool_calls: [{ id: "call_1", type: "function", function: { name: "f", arguments: "{}" } }], cache_control: EPHEMERAL },
        { role: "tool", tool_call_id: "call_1", content: "42", cache_control: EPHEMERAL },
        { role: "user", content: "plain" },
      ],
      tools: [{ type: "function", function: { name: "f", parameters: { type: "object" } }, cache_control: EPHEMERAL }],
    });
    expect(request.system).toEqual([
      { type: "text", text: "rules", cacheControl: { type: "ephemeral", ttl: "1h" } },
      { type: "text", text: "more rules", cacheControl: { type: "ephemeral" } },
    ]);
    const [user, assistant, tool, plain] = request.messages;
    expect(user?.content.map((block) => ("cacheControl" in block ? block.cacheControl : undefined))).toEqual([EPHEMERAL, EPHEMERAL, undefined]);
    expect(assistant?.content).toEqual([{ type: "tool-use", id: "call_1", name: "f", input: {}, cacheControl: EPHEMERAL }]);
    expect(tool?.content).toEqual([{ type: "tool-result", toolUseId: "call_1", content: [{ type: "text", text: "42" }], isError: false, cacheControl: EPHEMERAL }]);
    expect(plain?.content).toEqual([{ type: "text", text: "plain" }]);
    expect(request.tools[0]?.cacheControl).toEqual(EPHEMERAL);
    expect(uncarried).toEqual([]);
  });
});

describe("uncarried: nested fields without a counterpart are named", () => {
  test("message, part, tool call, tool, stream_options and json_schema members; a part dropped whole by its type", () => {
    const { uncarried, request } = decode({
      model: "m",
      stream: true,
      stream_options: { include_usage: true, include_obfuscation: true },
      messages: [
        { role: "user", content: [{ type: "text", text: "a", annotations: [{ x: 1 }] }, { type: "input_audio", input_audio: { data: "AAAA", format: "wav" } }] },
        { role: "assistant", content: "b", audio: { id: "audio_1" }, tool_calls: [{ id: "c", type: "function", function: { name: "f", arguments: "{}", extra: 1 }, index: 0 }] },
        { role: "user", content: [{ type: "image_url", image_url: { url: "https://x/y.png", detail: "low", format: "png" } }] },
        { role: "user", content: [{ type: "file", file: { file_id: "file-1" } }] },
      ],
      tools: [{ type: "function", function: { name: "f", parameters: {}, version: 2 }, defer: true }],
      response_format: { type: "json_schema", json_schema: { name: "s", schema: {}, examples: [1] } },
      logprobs: true,
    });
    expect(uncarried.sort()).toEqual(
      [
        "logprobs",
        "messages[].audio",
        "messages[].content[].annotations",
        "messages[].content[].file.file_id",
        "messages[].content[].image_url.detail",
        "messages[].content[].image_url.format",
        "messages[].content[].input_audio",
        "messages[].tool_calls[].function.extra",
        "messages[].tool_calls[].index",
        "response_format.json_schema.examples",
        "stream_options.include_obfuscation",
        "tools[].defer",
        "tools[].function.version",
      ].sort(),
    );
    // The dropped parts leave their messages' other content.
    expect(request.messages[0]?.content).toEqual([{ type: "text", text: "a" }]);
    expect(request.messages[3]?.content).toEqual([]);
  });

  test("defaults and empty values are not named (false, null, [])", () => {
    const { uncarried } = decode({
      model: "m",
      stream_options: { include_usage: false, include_obfuscation: false },
      messages: [{ role: "user", content: [{ type: "text", text: "a", annotations: [] }], audio: null }],
    });
    expect(uncarried).toEqual([]);
  });
});

describe("names a client chooses never reach Object.prototype", () => {
  test.each(["constructor", "__proto__", "toString", "hasOwnProperty"])("a content part of type %p is dropped and named, not a crash", (name) => {
    const { request, uncarried } = decode({ model: "m", messages: [{ role: "user", content: [{ type: name, x: 1 }, { type: "text", text: "after" }] }] });
    expect(request.messages[0]?.content).toEqual([{ type: "text", text: "after" }]);
    expect(uncarried).toEqual([`messages[].content[].${name}`]);
  });
});
