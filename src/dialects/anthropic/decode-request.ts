/**
 * Anthropic Messages request (or count_tokens body) → ChatRequest, and the names of the fields the
 * canonical form cannot carry (dropped, and named, when translating; unused on same-dialect calls).
 * @see https://docs.anthropic.com/en/api/messages
 */

import type {
  CacheHint,
  ChatMessage,
  ChatRequest,
  ContentBlock,
  DocumentBlock,
  ImageBlock,
  ReasoningEffort,
  ResponseFormat,
  TextBlock,
  ThinkingConfig,
  ToolChoice,
  ToolDefinition,
  ToolResultBlock,
  ToolUseBlock,
} from "../../canonical/request.ts";
import {
  isCustomAnthropicTool,
  isKnownAnthropicBlock,
  isKnownToolResultPart,
  type AnthropicContentBlock,
  type AnthropicCountTokensRequest,
  type AnthropicDocumentSource,
  type AnthropicKnownBlock,
  type AnthropicMessagesRequest,
  type AnthropicTextBlock,
  type AnthropicThinkingEnabled,
  type AnthropicToolResultPart,
} from "./wire.ts";
import { extraFields, hasValue, known, listExtraFields } from "../uncarried.ts";

export interface DecodedAnthropicRequest {
  request: ChatRequest;
  /**
   * Fields present that the canonical form cannot carry, named for `x-tollgate-dropped-fields`
   * (SPEC §4), stably:
   * - a top-level field: its name (`service_tier`, `container`, `mcp_servers`, `context_management`);
   * - a nested field: its dotted path, `[]` for array elements (`thinking.display`,
   *   `messages[].content[].citations`, `tools[].defer_loading`, `metadata.foo`);
   * - an array element dropped whole for its `type` (a block or tool kind with no counterpart): the
   *   array's path, then the type (`messages[].content[].search_result`, `tools[].web_search_20250305`,
   *   `messages[].content[].content[].tool_reference` inside a tool_result);
   * - a media block whose source kind has no counterpart (Files API `file`, `content`) is dropped and
   *   named by the source's fields (`messages[].content[].source.file_id`).
   * A field counts as present unless it is absent, null, false or an empty array. `cache_control` is
   * never listed: its drop for non-Anthropic upstreams is prescribed (SPEC §4).
   */
  uncarried: string[];
}

/** Messages and count_tokens bodies (the latter without max_tokens) decode alike. */
export type AnthropicRequestBody = AnthropicMessagesRequest | AnthropicCountTokensRequest;

const CARRIED_FIELDS = new Set([
  "model", "max_tokens", "messages", "system", "stream", "stop_sequences", "temperature", "top_p", "top_k", "tools",
  "tool_choice", "thinking", "metadata", "output_config", "cache_control",
]);

const BLOCK_FIELDS: Record<AnthropicKnownBlock["type"], ReadonlySet<string>> = {
  text: known("type", "text", "cache_control"),
  image: known("type", "source", "cache_control"),
  document: known("type", "source", "title", "cache_control"),
  tool_use: known("type", "id", "name", "input", "cache_control"),
  tool_result: known("type", "tool_use_id", "content", "is_error", "cache_control"),
  thinking: known("type", "thinking", "signature"),
  redacted_thinking: known("type", "data"),
};
const TOOL_USE_DIRECT_FIELDS = known(...BLOCK_FIELDS.tool_use, "caller");
/** By source type; a Map, so a client's type never reaches Object.prototype ("constructor", "__proto__"). */
const SOURCE_FIELDS: ReadonlyMap<string, ReadonlySet<string>> = new Map([
  ["base64", known("type", "media_type", "data")],
  ["url", known("type", "url")],
  ["text", known("type", "media_type", "data")],
]);
const TOOL_FIELDS = known("type", "name", "description", "input_schema", "strict", "cache_control");

/** Anthropic's `output_config.effort` in the canonical scale. */
const EFFORT: ReadonlyMap<string, ReasoningEffort> = new Map([
  ["low", "low"],
  ["medium", "medium"],
  ["high", "high"],
  ["xhigh", "high"],
  ["max", "high"],
]);
/** Adaptive thinking has no budget; the canonical form needs one (same scale as OpenAI's reasoning_effort). */
const ADAPTIVE_BUDGET: Record<ReasoningEffort, number> = { minimal: 1024, low: 2048, medium: 8192, high: 24_576 };

type CacheControlWire = { type: string; ttl?: string } | null | undefined;

function withCacheHint<T extends { cacheControl?: CacheHint }>(block: T, value: CacheControlWire): T {
  if (value?.type === "ephemeral") block.cacheControl = value.ttl === undefined ? { type: "ephemeral" } : { type: "ephemeral", ttl: value.ttl };
  return block;
}

function decodeTextBlock(block: AnthropicTextBlock, path: string, uncarried: Set<string>): TextBlock {
  listExtraFields(block, BLOCK_FIELDS.text, path, uncarried);
  return withCacheHint<TextBlock>({ type: "text", text: block.text }, block.cache_control);
}

/** A source kind without a counterpart (or text for an image) drops its block; its fields are what is listed. */
function decodeSource(source: { type: string }, allowText: boolean, path: string, uncarried: Set<string>): DocumentBlock["source"] | null {
  const fields = SOURCE_FIELDS.get(source.type);
  if (!fields || (source.type === "text" && !allowText)) {
    const fieldsLost = extraFields(source, known("type"));
    if (fieldsLost.length === 0) uncarried.add(`${path}.source`);
    for (const key of fieldsLost) uncarried.add(`${path}.source.${key}`);
    return null;
  }
  listExtraFields(source, fields, `${path}.source`, uncarried);
  // Sound by the schema: a source whose `type` is a known kind matched that kind's variant.
  const wire = source as AnthropicDocumentSource;
  switch (wire.type) {
    case "base64":
      return { kind: "base64", mediaType: wire.media_type, data: wire.data };
    case "url":
      return { kind: "url", url: wire.url };
    case "text":
      return { kind: "text", mediaType: wire.media_type, data: wire.data };
  }
}

function decodeMedia(block: AnthropicToolResultPart, path: string, uncarried: Set<string>): TextBlock | ImageBlock | DocumentBlock | null {
  if (block.type === "text") return decodeTextBlock(block, path, uncarried);
  listExtraFields(block, BLOCK_FIELDS[block.type], path, uncarried);
  if (block.type === "image") {
    const source = decodeSource(block.source, false, path, uncarried);
    if (source === null || source.kind === "text") return null;
    return withCacheHint<ImageBlock>({ type: "image", source }, block.cache_control);
  }
  const source = decodeSource(block.source, true, path, uncarried);
  if (source === null) return null;
  const document: DocumentBlock = { type: "document", source };
  if (typeof block.title === "string") document.title = block.title;
  return withCacheHint(document, block.cache_control);
}

function decodeToolResultContent(
  content: string | Array<{ type: string }> | undefined,
  path: string,
  uncarried: Set<string>,
): Array<TextBlock | ImageBlock | DocumentBlock> {
  if (content === undefined) return [];
  if (typeof content === "string") return content === "" ? [] : [{ type: "text", text: content }];
  const parts: Array<TextBlock | ImageBlock | DocumentBlock> = [];
  for (const part of content) {
    if (!isKnownToolResultPart(part)) {
      uncarried.add(`${path}.${part.type}`);
      continue;
    }
    const decoded = decodeMedia(part, path, uncarried);
    if (decoded) parts.push(decoded);
  }
  return parts;
}

function decodeBlock(block: AnthropicContentBlock, path: string, uncarried: Set<string>): ContentBlock | null {
  if (!isKnownAnthropicBlock(block)) {
    uncarried.add(`${path}.${block.type}`);
    return null;
  }
  switch (block.type) {
    case "text":
    case "image":
    case "document":
      return decodeMedia(block, path, uncarried);
    case "tool_use": {
      // `caller: {type: "direct"}` is the default an SDK echoes back from a response: nothing is lost.
      const caller = "caller" in block ? block.caller : undefined;
      const direct = typeof caller === "object" && caller !== null && "type" in caller && caller.type === "direct";
      listExtraFields(block, direct ? TOOL_USE_DIRECT_FIELDS : BLOCK_FIELDS.tool_use, path, uncarried);
      return withCacheHint<ToolUseBlock>({ type: "tool-use", id: block.id, name: block.name, input: block.input }, block.cache_control);
    }
    case "tool_result": {
      listExtraFields(block, BLOCK_FIELDS.tool_result, path, uncarried);
      const content = decodeToolResultContent(block.content, `${path}.content[]`, uncarried);
      return withCacheHint<ToolResultBlock>(
        { type: "tool-result", toolUseId: block.tool_use_id, content, isError: block.is_error === true },
        block.cache_control,
      );
    }
    case "thinking":
      listExtraFields(block, BLOCK_FIELDS.thinking, path, uncarried);
      return { type: "thinking", text: block.thinking, signature: block.signature };
    case "redacted_thinking":
      listExtraFields(block, BLOCK_FIELDS.redacted_thinking, path, uncarried);
      return { type: "redacted-thinking", data: block.data };
  }
}

function decodeContent(content: string | AnthropicContentBlock[], uncarried: Set<string>): ContentBlock[] {
  if (typeof content === "string") return content === "" ? [] : [{ type: "text", text: content }];
  const blocks: ContentBlock[] = [];
  for (const block of content) {
    const decoded = decodeBlock(block, "messages[].content[]", uncarried);
    if (decoded) blocks.push(decoded);
  }
  return blocks;
}

function decodeSystem(system: AnthropicRequestBody["system"], uncarried: Set<string>): TextBlock[] {
  if (system === undefined) return [];
  if (typeof system === "string") return system === "" ? [] : [{ type: "text", text: system }];
  return system.map((block) => decodeTextBlock(block, "system[]", uncarried));
}

function decodeMessages(wire: AnthropicRequestBody, system: TextBlock[], uncarried: Set<string>): ChatMessage[] {
  const messages: ChatMessage[] = [];
  for (const message of wire.messages) {
    listExtraFields(message, known("role", "content"), "messages[]", uncarried);
    if (message.role !== "system") {
      messages.push({ role: message.role, content: decodeContent(message.content, uncarried) });
      continue;
    }
    // A system message joins the system prompt (as OpenAI's do); only its text has a place there.
    if (typeof message.content === "string") {
      if (message.content !== "") system.push({ type: "text", text: message.content });
      continue;
    }
    for (const block of message.content) {
      if (isKnownAnthropicBlock(block) && block.type === "text") system.push(decodeTextBlock(block, "messages[].content[]", uncarried));
      else uncarried.add(`messages[].content[].${block.type}`);
    }
  }
  return messages;
}

function decodeTools(tools: AnthropicRequestBody["tools"], uncarried: Set<string>): ToolDefinition[] {
  const decoded: ToolDefinition[] = [];
  for (const tool of tools ?? []) {
    if (!isCustomAnthropicTool(tool)) {
      uncarried.add(`tools[].${tool.type}`);
      continue;
    }
    listExtraFields(tool, TOOL_FIELDS, "tools[]", uncarried);
    const definition: ToolDefinition = { name: tool.name, inputSchema: tool.input_schema };
    if (tool.description !== undefined) definition.description = tool.description;
    if (tool.strict !== undefined) definition.strict = tool.strict;
    decoded.push(withCacheHint(definition, tool.cache_control));
  }
  return decoded;
}

function decodeToolChoice(choice: NonNullable<AnthropicRequestBody["tool_choice"]>, uncarried: Set<string>): ToolChoice {
  listExtraFields(choice, known("type", "name", "disable_parallel_tool_use"), "tool_choice", uncarried);
  return choice.type === "tool" ? { type: "tool", name: choice.name } : { type: choice.type };
}

function decodeThinking(wire: AnthropicRequestBody, uncarried: Set<string>): ThinkingConfig | undefined {
  const thinking = wire.thinking;
  const effortName = wire.output_config?.effort;
  const effort = typeof effortName === "string" ? EFFORT.get(effortName) : undefined;
  let config: ThinkingConfig | undefined;
  if (thinking?.type === "enabled") {
    // Sound by the schema: `enabled` matched its own variant (the open variant excludes it).
    const enabled = thinking as AnthropicThinkingEnabled;
    listExtraFields(enabled, known("type", "budget_tokens"), "thinking", uncarried);
    config = effort ? { budgetTokens: enabled.budget_tokens, effort } : { budgetTokens: enabled.budget_tokens };
  } else if (thinking?.type === "adaptive") {
    listExtraFields(thinking, known("type"), "thinking", uncarried);
    config = effort ? { budgetTokens: ADAPTIVE_BUDGET[effort], effort } : { budgetTokens: ADAPTIVE_BUDGET.medium };
  } else if (thinking !== undefined && thinking.type !== "disabled") {
    uncarried.add("thinking");
  }
  if (hasValue(effortName) && (config === undefined || effort === undefined)) uncarried.add("output_config.effort");
  return config;
}

function decodeOutputFormat(wire: AnthropicRequestBody, uncarried: Set<string>): ResponseFormat | undefined {
  const config = wire.output_config;
  if (!config) return undefined;
  listExtraFields(config, known("effort", "format"), "output_config", uncarried);
  const format = config.format;
  if (!hasValue(format)) return undefined;
  if (format?.type === "json_schema" && format.schema) return { type: "json_schema", name: "output", schema: format.schema };
  uncarried.add("output_config.format");
  return undefined;
}

export function decodeAnthropicRequest(wire: AnthropicRequestBody, raw: Record<string, unknown>): DecodedAnthropicRequest {
  const uncarried = new Set<string>();
  listExtraFields(raw, CARRIED_FIELDS, "", uncarried);
  const system = decodeSystem(wire.system, uncarried);
  const messages = decodeMessages(wire, system, uncarried);
  const request: ChatRequest = {
    model: wire.model,
    system,
    messages,
    maxTokens: wire.max_tokens ?? null,
    stream: wire.stream === true,
    stopSequences: wire.stop_sequences ?? [],
    tools: decodeTools(wire.tools, uncarried),
    includeUsage: false,
  };
  if (wire.tool_choice) {
    request.toolChoice = decodeToolChoice(wire.tool_choice, uncarried);
    if (wire.tool_choice.disable_parallel_tool_use === true) request.parallelToolCalls = false;
  }
  if (wire.temperature !== undefined) request.temperature = wire.temperature;
  if (wire.top_p !== undefined) request.topP = wire.top_p;
  if (wire.top_k !== undefined) request.topK = wire.top_k;
  if (wire.metadata) {
    listExtraFields(wire.metadata, known("user_id"), "metadata", uncarried);
    if (typeof wire.metadata.user_id === "string") request.userId = wire.metadata.user_id;
  }
  const thinking = decodeThinking(wire, uncarried);
  if (thinking) request.thinking = thinking;
  const responseFormat = decodeOutputFormat(wire, uncarried);
  if (responseFormat) request.responseFormat = responseFormat;
  return { request, uncarried: [...uncarried] };
}
