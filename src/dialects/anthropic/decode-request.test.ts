/** Anthropic request → ChatRequest: every block, system form, tool_choice, thinking, and `uncarried` naming. */

import { describe, expect, test } from "bun:test";
import fc from "fast-check";
import type { ChatRequest, ContentBlock } from "../../canonical/request.ts";
import { assertValid } from "../../gateway/validate.ts";
import { decodeAnthropicRequest } from "./decode-request.ts";
import { anthropicCountTokensRequestCheck, anthropicMessagesRequestCheck } from "./wire.ts";

const BASE = { model: "claude-x", max_tokens: 256, messages: [{ role: "user", content: "hi" }] };

function decode(body: Record<string, unknown>) {
  assertValid(anthropicMessagesRequestCheck, body);
  return decodeAnthropicRequest(body, body);
}

/** The content of a single user message holding `blocks`. */
function decodeBlocks(blocks: unknown[]) {
  const { request, uncarried } = decode({ ...BASE, messages: [{ role: "user", content: blocks }] });
  return { content: request.messages[0]?.content, uncarried };
}

describe("decodeAnthropicRequest: the request", () => {
  test("the minimal body", () => {
    expect(decode(BASE)).toEqual({
      request: {
        model: "claude-x",
        system: [],
        messages: [{ role: "user", content: [{ type: "text", text: "hi" }] }],
        maxTokens: 256,
        stream: false,
        stopSequences: [],
        tools: [],
        includeUsage: false,
      },
      uncarried: [],
    });
  });

  test("sampling, stop sequences, stream, metadata.user_id", () => {
    const { request, uncarried } = decode({
      ...BASE,
      stream: true,
      temperature: 0.3,
      top_p: 0.9,
      top_k: 40,
      stop_sequences: ["###", "END"],
      metadata: { user_id: "user-7" },
    });
    expect(request).toMatchObject({ stream: true, temperature: 0.3, topP: 0.9, topK: 40, stopSequences: ["###", "END"], userId: "user-7", includeUsage: false });
    expect(uncarried).toEqual([]);
  });

  test("count_tokens bodies have no max_tokens", () => {
    const body = { model: "m", messages: BASE.messages };
    assertValid(anthropicCountTokensRequestCheck, body);
    expect(decodeAnthropicRequest(body, body).request.maxTokens).toBeNull();
  });
});

describe("decodeAnthropicRequest: system", () => {
  test.each([
    ["a string", "Be brief.", [{ type: "text", text: "Be brief." }]],
    ["an empty string", "", []],
    ["text blocks with cache_control", [{ type: "text", text: "A" }, { type: "text", text: "B", cache_control: { type: "ephemeral", ttl: "1h" } }], [
      { type: "text", text: "A" },
      { type: "text", text: "B", cacheControl: { type: "ephemeral", ttl: "1h" } },
    ]],
  ])("%s", (_name, system, expected) => {
    expect(decode({ ...BASE, system }).request.system).toEqual(expected as ChatRequest["system"]);
  });

  test("system-role messages join the system prompt; their non-text blocks are listed", () => {
    const { request, uncarried } = decode({
      ...BASE,
      system: "first",
      messages: [
        { role: "system", content: [{ type: "text", text: "second" }, { type: "image", source: { type: "url", url: "https://x" } }] },
        { role: "user", content: "hi" },
      ],
    });
    expect(request.system).toEqual([{ type: "text", text: "first" }, { type: "text", text: "second" }]);
    expect(request.messages).toHaveLength(1);
    expect(uncarried).toEqual(["messages[].content[].image"]);
  });
});

describe("decodeAnthropicRequest: content blocks", () => {
  const cases: Array<[string, unknown, ContentBlock]> = [
    ["text with cache_control", { type: "text", text: "t", cache_control: { type: "ephemeral" } }, { type: "text", text: "t", cacheControl: { type: "ephemeral" } }],
    ["a base64 image", { type: "image", source: { type: "base64", media_type: "image/png", data: "AAA" } }, { type: "image", source: { kind: "base64", mediaType: "image/png", data: "AAA" } }],
    ["a URL image", { type: "image", source: { type: "url", url: "https://x/i.png" } }, { type: "image", source: { kind: "url", url: "https://x/i.png" } }],
    ["a base64 PDF with a title", { type: "document", source: { type: "base64", media_type: "application/pdf", data: "JVBE" }, title: "Report" }, {
      type: "document",
      source: { kind: "base64", mediaType: "application/pdf", data: "JVBE" },
      title: "Report",
    }],
    ["a URL document", { type: "document", source: { type: "url", url: "https://x/d.pdf" } }, { type: "document", source: { kind: "url", url: "https://x/d.pdf" } }],
    ["a plain-text document", { type: "document", source: { type: "text", media_type: "text/plain", data: "hello" }, title: null }, {
      type: "document",
      source: { kind: "text", mediaType: "text/plain", data: "hello" },
    }],
    ["tool_use", { type: "tool_use", id: "toolu_1", name: "f", input: { a: [1] }, cache_control: { type: "ephemeral" } }, {
      type: "tool-use",
      id: "toolu_1",
      name: "f",
      input: { a: [1] },
      cacheControl: { type: "ephemeral" },
    }],
    ["tool_result with string content", { type: "tool_result", tool_use_id: "toolu_1", content: "42" }, {
      type: "tool-result",
      toolUseId: "toolu_1",
      content: [{ type: "text", text: "42" }],
      isError: false,
    }],
    ["tool_result with blocks and is_error", {
      type: "tool_result",
      tool_use_id: "toolu_1",
      is_error: true,
      content: [{ type: "text", text: "bad" }, { type: "image", source: { type: "url", url: "https://x/e.png" } }],
    }, {
      type: "tool-result",
      toolUseId: "toolu_1",
      content: [{ type: "text", text: "bad" }, { type: "image", source: { kind: "url", url: "https://x/e.png" } }],
      isError: true,
    }],
    ["tool_result without content", { type: "tool_result", tool_use_id: "toolu_1" }, { type: "tool-result", toolUseId: "toolu_1", content: [], isError: false }],
    ["thinking with its signature", { type: "thinking", thinking: "hmm", signature: "sig" }, { type: "thinking", text: "hmm", signature: "sig" }],
    ["redacted_thinking", { type: "redacted_thinking", data: "opaque" }, { type: "redacted-thinking", data: "opaque" }],
  ];
  test.each(cases)("%s", (_name, block, expected) => {
    expect(decodeBlocks([block])).toEqual({ content: [expected], uncarried: [] });
  });

  test("string content is one text block; an empty string none", () => {
    expect(decode(BASE).request.messages[0]?.content).toEqual([{ type: "text", text: "hi" }]);
    expect(decode({ ...BASE, messages: [{ role: "user", content: "" }] }).request.messages[0]?.content).toEqual([]);
  });
});

describe("decodeAnthropicRequest: tools and tool_choice", () => {
  test("custom tools keep description, strict and cache_control; server tools are dropped by type", () => {
    const { request, uncarried } = decode({
      ...BASE,
      tools: [
        { name: "get_weather", description: "Weather", input_schema: { type: "object", properties: {} }, strict: true, cache_control: { type: "ephemeral" } },
        { type: "custom", name: "other", input_schema: { type: "object" } },
        { type: "web_search_20250305", name: "web_search", max_uses: 2 },
      ],
    });
    expect(request.tools).toEqual([
      { name: "get_weather", description: "Weather", inputSchema: { type: "object", properties: {} }, strict: true, cacheControl: { type: "ephemeral" } },
      { name: "other", inputSchema: { type: "object" } },
    ]);
    expect(uncarried).toEqual(["tools[].web_search_20250305"]);
  });

  test.each([
    [{ type: "auto" }, { type: "auto" }, undefined],
    [{ type: "any" }, { type: "any" }, undefined],
    [{ type: "none" }, { type: "none" }, undefined],
    [{ type: "tool", name: "f" }, { type: "tool", name: "f" }, undefined],
    [{ type: "auto", disable_parallel_tool_use: true }, { type: "auto" }, false],
    [{ type: "tool", name: "f", disable_parallel_tool_use: true }, { type: "tool", name: "f" }, false],
    [{ type: "any", disable_parallel_tool_use: false }, { type: "any" }, undefined],
  ])("tool_choice %j", (choice, expected, parallel) => {
    const { request } = decode({ ...BASE, tool_choice: choice });
    expect(request.toolChoice).toEqual(expected as ChatRequest["toolChoice"]);
    expect(request.parallelToolCalls).toBe(parallel);
  });
});

describe("decodeAnthropicRequest: thinking and output_config", () => {
  test.each([
    ["enabled", { thinking: { type: "enabled", budget_tokens: 4096 } }, { budgetTokens: 4096 }, []],
    ["enabled with effort", { thinking: { type: "enabled", budget_tokens: 4096 }, output_config: { effort: "xhigh" } }, { budgetTokens: 4096, effort: "high" }, []],
    ["enabled with display", { thinking: { type: "enabled", budget_tokens: 2048, display: "omitted" } }, { budgetTokens: 2048 }, ["thinking.display"]],
    ["disabled", { thinking: { type: "disabled" } }, undefined, []],
    ["adaptive", { thinking: { type: "adaptive" } }, { budgetTokens: 8192 }, []],
    ["adaptive with effort low", { thinking: { type: "adaptive" }, output_config: { effort: "low" } }, { budgetTokens: 2048, effort: "low" }, []],
    ["an unknown kind", { thinking: { type: "between_tools" } }, undefined, ["thinking"]],
    ["effort without thinking", { output_config: { effort: "high" } }, undefined, ["output_config.effort"]],
    ["an unknown effort", { thinking: { type: "adaptive" }, output_config: { effort: "turbo" } }, { budgetTokens: 8192 }, ["output_config.effort"]],
  ])("%s", (_name, extra, thinking, uncarried) => {
    const decoded = decode({ ...BASE, ...extra });
    expect(decoded.request.thinking).toEqual(thinking as ChatRequest["thinking"]);
    expect(decoded.uncarried).toEqual(uncarried);
  });

  test("output_config.format json_schema becomes a json_schema response format", () => {
    const schema = { type: "object", properties: { a: { type: "string" } } };
    const { request, uncarried } = decode({ ...BASE, output_config: { format: { type: "json_schema", schema } } });
    expect(request.responseFormat).toEqual({ type: "json_schema", name: "output", schema });
    expect(uncarried).toEqual([]);
    expect(decode({ ...BASE, output_config: { format: { type: "yaml" } } }).uncarried).toEqual(["output_config.format"]);
  });
});

describe("decodeAnthropicRequest: uncarried naming", () => {
  test("top-level fields by name; cache_control never", () => {
    const { uncarried } = decode({
      ...BASE,
      service_tier: "auto",
      container: "container_1",
      mcp_servers: [{ type: "url", url: "https://m", name: "m" }],
      context_management: { edits: [] },
      cache_control: { type: "ephemeral" },
      inference_geo: null,
      metadata: { user_id: "u", tenant: "t" },
    });
    expect(uncarried).toEqual(["service_tier", "container", "mcp_servers", "context_management", "metadata.tenant"]);
  });

  test.each([
    ["citations on text", { type: "text", text: "t", citations: [{ type: "char_location" }] }, ["messages[].content[].citations"]],
    ["empty citations", { type: "text", text: "t", citations: [] }, []],
    ["a false flag", { type: "tool_use", id: "t", name: "f", input: {}, eager: false }, []],
    ["document citations and context", {
      type: "document",
      source: { type: "url", url: "https://x" },
      citations: { enabled: true },
      context: "c",
    }, ["messages[].content[].citations", "messages[].content[].context"]],
    ["an unknown block type", { type: "server_tool_use", id: "s", name: "web_search", input: {} }, ["messages[].content[].server_tool_use"]],
    ["a Files API image", { type: "image", source: { type: "file", file_id: "file_1" } }, ["messages[].content[].source.file_id"]],
    ["a content-source document", { type: "document", source: { type: "content", content: "x" } }, ["messages[].content[].source.content"]],
    ["a text source on an image", { type: "image", source: { type: "text", media_type: "text/plain", data: "x" } }, [
      "messages[].content[].source.media_type",
      "messages[].content[].source.data",
    ]],
    ["an unknown part in a tool_result", {
      type: "tool_result",
      tool_use_id: "t",
      content: [{ type: "tool_reference", tool_name: "x" }],
    }, ["messages[].content[].content[].tool_reference"]],
    ["a direct caller on tool_use", { type: "tool_use", id: "t", name: "f", input: {}, caller: { type: "direct" } }, []],
    ["another caller on tool_use", { type: "tool_use", id: "t", name: "f", input: {}, caller: { type: "code_execution_20250825", tool_id: "x" } }, [
      "messages[].content[].caller",
    ]],
  ])("%s", (_name, block, expected) => {
    expect(decodeBlocks([block]).uncarried).toEqual(expected);
  });

  test("each name is listed once, however often it occurs", () => {
    const file = { type: "image", source: { type: "file", file_id: "f" } };
    const bare = { type: "image", source: { type: "file" } };
    expect(decodeBlocks([file, file, { type: "text", text: "x", citations: [1] }, { type: "text", text: "y", citations: [2] }]).uncarried).toEqual([
      "messages[].content[].source.file_id",
      "messages[].content[].citations",
    ]);
    expect(decodeBlocks([file, bare]).uncarried).toEqual(["messages[].content[].source.file_id", "messages[].content[].source"]);
  });

  test("dropped blocks leave the rest in order", () => {
    const { content } = decodeBlocks([
      { type: "text", text: "a" },
      { type: "search_result", source: "s", title: "t", content: [] },
      { type: "image", source: { type: "file", file_id: "f" } },
      { type: "text", text: "b" },
    ]);
    expect(content).toEqual([{ type: "text", text: "a" }, { type: "text", text: "b" }]);
  });

  test("nested fields of tools, tool_choice and messages", () => {
    const { uncarried } = decode({
      ...BASE,
      messages: [{ role: "user", content: "hi", name: "x" }],
      tools: [{ name: "f", input_schema: {}, defer_loading: true, input_examples: [{ a: 1 }], allowed_callers: [] }],
      tool_choice: { type: "auto", extra: 1 },
    });
    expect(uncarried).toEqual(["messages[].name", "tools[].defer_loading", "tools[].input_examples", "tool_choice.extra"]);
  });
});

// ---------------------------------------------------------------------------------------------------
// Property: decoding is total for schema-valid bodies and keeps text, tool_use and tool_result in order.

const text = fc.string({ maxLength: 12 });
const id = fc.stringMatching(/^[A-Za-z0-9_]{1,10}$/);
const jsonObject = fc.dictionary(fc.string({ maxLength: 6 }), fc.jsonValue({ maxDepth: 2 }), { maxKeys: 3 });
const cacheControl = fc.option(fc.constant({ type: "ephemeral" }), { nil: undefined });
const textBlock = fc.record({ type: fc.constant("text"), text, cache_control: cacheControl }, { requiredKeys: ["type", "text"] });
const imageBlock = fc.record({
  type: fc.constant("image"),
  source: fc.oneof(
    fc.record({ type: fc.constant("base64"), media_type: fc.constant("image/png"), data: fc.base64String({ maxLength: 8 }) }),
    fc.record({ type: fc.constant("url"), url: fc.webUrl() }),
  ),
});
const toolUseBlock = fc.record({ type: fc.constant("tool_use"), id, name: id, input: jsonObject });
const toolResultBlock = fc.record(
  {
    type: fc.constant("tool_result"),
    tool_use_id: id,
    content: fc.oneof(text, fc.array(fc.oneof(textBlock, imageBlock), { maxLength: 3 })),
    is_error: fc.boolean(),
  },
  { requiredKeys: ["type", "tool_use_id"] },
);
const thinkingBlock = fc.record({ type: fc.constant("thinking"), thinking: text, signature: text });
const unknownBlock = fc.record({ type: fc.constantFrom("server_tool_use", "search_result", "container_upload"), extra: text });
const block = fc.oneof(textBlock, imageBlock, toolUseBlock, toolResultBlock, thinkingBlock, unknownBlock);
const message = fc.record({ role: fc.constantFrom("user", "assistant"), content: fc.oneof(text, fc.array(block, { maxLength: 5 })) });
const tool = fc.oneof(
  fc.record({ name: id, description: fc.option(text, { nil: undefined }), input_schema: fc.constant({ type: "object" }) }, { requiredKeys: ["name", "input_schema"] }),
  fc.record({ type: fc.constant("web_search_20250305"), name: fc.constant("web_search") }),
);
const body = fc.record(
  {
    model: fc.constant("claude-x"),
    max_tokens: fc.integer({ min: 1, max: 100_000 }),
    messages: fc.array(message, { minLength: 1, maxLength: 4 }),
    system: fc.oneof(text, fc.array(textBlock, { maxLength: 2 })),
    stop_sequences: fc.array(text, { maxLength: 3 }),
    tools: fc.array(tool, { maxLength: 3 }),
    tool_choice: fc.oneof(
      fc.record({ type: fc.constantFrom("auto", "any", "none") }),
      fc.record({ type: fc.constant("tool"), name: id, disable_parallel_tool_use: fc.boolean() }),
    ),
    thinking: fc.oneof(fc.record({ type: fc.constant("enabled"), budget_tokens: fc.integer({ min: 1024, max: 64_000 }) }), fc.constant({ type: "disabled" })),
    temperature: fc.double({ min: 0, max: 1, noNaN: true }),
    stream: fc.boolean(),
  },
  { requiredKeys: ["model", "max_tokens", "messages"] },
);

type Projected = ["text", string] | ["tool_use", string, string, unknown] | ["tool_result", string, boolean, unknown[]];

function projectWire(content: unknown): Projected[] {
  if (typeof content === "string") return content === "" ? [] : [["text", content]];
  const out: Projected[] = [];
  for (const item of content as Array<Record<string, unknown>>) {
    if (item.type === "text") out.push(["text", item.text as string]);
    else if (item.type === "tool_use") out.push(["tool_use", item.id as string, item.name as string, item.input]);
    else if (item.type === "tool_result") {
      const parts = item.content;
      const texts = typeof parts === "string" ? (parts === "" ? [] : [parts]) : ((parts ?? []) as Array<Record<string, unknown>>).filter((p) => p.type === "text").map((p) => p.text);
      out.push(["tool_result", item.tool_use_id as string, item.is_error === true, texts]);
    }
  }
  return out;
}

function projectCanonical(content: ContentBlock[]): Projected[] {
  const out: Projected[] = [];
  for (const item of content) {
    if (item.type === "text") out.push(["text", item.text]);
    else if (item.type === "tool-use") out.push(["tool_use", item.id, item.name, item.input]);
    else if (item.type === "tool-result")
      out.push(["tool_result", item.toolUseId, item.isError, item.content.flatMap((p) => (p.type === "text" ? [p.text] : []))]);
  }
  return out;
}

describe("decodeAnthropicRequest: properties", () => {
  test("total on schema-valid bodies; text, tool_use and tool_result survive in order", () => {
    fc.assert(
      fc.property(body, (wire) => {
        if (!anthropicMessagesRequestCheck.Check(wire)) throw new Error("the generator made a schema-invalid body");
        const { request, uncarried } = decodeAnthropicRequest(wire, wire);
        expect(request.messages).toHaveLength(wire.messages.length);
        wire.messages.forEach((sent, i) => {
          expect(request.messages[i]?.role).toBe(sent.role);
          expect(projectCanonical(request.messages[i]?.content ?? [])).toEqual(projectWire(sent.content));
        });
        expect(request.tools.map((t) => t.name)).toEqual((wire.tools ?? []).filter((t) => !("type" in t)).map((t) => t.name));
        expect(request.stopSequences).toEqual(wire.stop_sequences ?? []);
        expect(uncarried.every((name) => !name.includes("cache_control"))).toBe(true);
        expect(new Set(uncarried).size).toBe(uncarried.length);
      }),
      { numRuns: 300 },
    );
  });
});

describe("decodeAnthropicRequest: names a client chooses never reach Object.prototype", () => {
  test.each(["constructor", "__proto__", "toString", "hasOwnProperty"])("a source type or an effort named %p is unknown, not a crash", (name) => {
    const { content, uncarried } = decodeBlocks([{ type: "image", source: { type: name, data: "x" } }, { type: "text", text: "after" }]);
    expect(content).toEqual([{ type: "text", text: "after" }]);
    expect(uncarried).toEqual(["messages[].content[].source.data"]);
    const withEffort = decode({ ...BASE, output_config: { effort: name } });
    expect(withEffort.request.thinking).toBeUndefined();
    expect(withEffort.uncarried).toEqual(["output_config.effort"]);
  });
});
