/**
 * OpenAI Chat Completions request → ChatRequest. System and developer messages become the system
 * prompt; tool messages become tool-result blocks; data-URL images become base64 images. Fields the
 * canonical form cannot carry are listed in `uncarried` (reported as dropped when translating).
 */

import type {
  CacheHint,
  ChatMessage,
  ChatRequest,
  ContentBlock,
  DocumentBlock,
  ImageBlock,
  MediaSource,
  ReasoningEffort,
  TextBlock,
  ToolChoice,
  ToolDefinition,
  ToolResultBlock,
} from "../../canonical/request.ts";
import { GatewayError } from "../../errors.ts";
import { known, listExtraFields } from "../uncarried.ts";
import type { OpenAIChatRequest, OpenAIContentPart, OpenAIMessage } from "./wire.ts";

export interface DecodedOpenAIRequest {
  request: ChatRequest;
  /**
   * Fields present that the canonical form cannot carry, named as the Anthropic decoder names them
   * (uncarried.ts): `logprobs`, `messages[].audio`, `stream_options.include_obfuscation`; a content part
   * dropped whole for its type as `messages[].content[].input_audio`. `cache_control` (on a content
   * part, a message or a tool, as LiteLLM and OpenRouter take it) is carried to Anthropic upstreams.
   */
  uncarried: string[];
}

const EFFORT_BUDGET: Record<ReasoningEffort, number> = { minimal: 1024, low: 2048, medium: 8192, high: 24_576 };

/** Request fields the canonical form carries; anything else present is `uncarried`. */
const CARRIED_FIELDS = new Set([
  "model", "messages", "max_tokens", "max_completion_tokens", "stream", "stream_options", "temperature", "top_p",
  "stop", "tools", "tool_choice", "parallel_tool_calls", "response_format", "reasoning_effort", "user", "seed",
  "presence_penalty", "frequency_penalty", "n",
]);

/** Members each object may hold; the rest of what a client sends is named as dropped. */
const MESSAGE_FIELDS = known("role", "content", "name", "tool_calls", "tool_call_id", "reasoning_content", "refusal", "cache_control");
/** By part type; a Map, so a client's type never reaches Object.prototype ("constructor", "__proto__"). */
const PART_FIELDS: ReadonlyMap<string, ReadonlySet<string>> = new Map([
  ["text", known("type", "text", "cache_control")],
  ["image_url", known("type", "image_url", "cache_control")],
  ["file", known("type", "file", "cache_control")],
]);
const IMAGE_URL_FIELDS = known("url", "detail");
const FILE_FIELDS = known("file_data", "filename", "file_id");
const TOOL_CALL_FIELDS = known("id", "type", "function");
const TOOL_CALL_FUNCTION_FIELDS = known("name", "arguments");
const TOOL_FIELDS = known("type", "function", "cache_control");
const TOOL_FUNCTION_FIELDS = known("name", "description", "parameters", "strict");
const STREAM_OPTIONS_FIELDS = known("include_usage");
const JSON_SCHEMA_FIELDS = known("name", "description", "schema", "strict");

function isRecord(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === "object" && !Array.isArray(value);
}

/** An object's `cache_control` as the canonical hint (ephemeral, as Anthropic takes it); else none. */
function cacheHintOf(owner: object): CacheHint | undefined {
  const value = (owner as { cache_control?: unknown }).cache_control;
  if (!isRecord(value) || value.type !== "ephemeral") return undefined;
  return typeof value.ttl === "string" ? { type: "ephemeral", ttl: value.ttl } : { type: "ephemeral" };
}

function withCacheHint<T extends { cacheControl?: CacheHint }>(block: T, owner: object): T {
  const hint = cacheHintOf(owner);
  if (hint) block.cacheControl = hint;
  return block;
}

/** A message-level `cache_control` marks the end of the message's content: its last block. */
function markLast(blocks: ContentBlock[], owner: object): void {
  const last = blocks.at(-1);
  if (last && last.type !== "thinking" && last.type !== "redacted-thinking") withCacheHint(last, owner);
}

function largerOf(first: number | null | undefined, second: number | null | undefined): number | null {
  if (typeof first !== "number") return typeof second === "number" ? second : null;
  return typeof second === "number" ? Math.max(first, second) : first;
}

export function parseDataUrl(url: string): MediaSource {
  const match = /^data:([^;,]+)(?:;[^,]*)?;base64,(.*)$/s.exec(url);
  if (match?.[1] && match[2] !== undefined) return { kind: "base64", mediaType: match[1], data: match[2] };
  return { kind: "url", url };
}

function decodePart(part: OpenAIContentPart, path: string, uncarried: Set<string>): ContentBlock | null {
  const fields = PART_FIELDS.get(part.type);
  if (fields) listExtraFields(part, fields, path, uncarried);
  if (part.type === "text" && "text" in part) return withCacheHint<TextBlock>({ type: "text", text: part.text }, part);
  if (part.type === "image_url" && "image_url" in part) {
    listExtraFields(part.image_url, IMAGE_URL_FIELDS, `${path}.image_url`, uncarried);
    if (part.image_url.detail !== undefined) uncarried.add(`${path}.image_url.detail`);
    return withCacheHint<ImageBlock>({ type: "image", source: parseDataUrl(part.image_url.url) }, part);
  }
  if (part.type === "file" && "file" in part) {
    listExtraFields(part.file, FILE_FIELDS, `${path}.file`, uncarried);
    // Only inline data has a counterpart; an uploaded file's id does not travel to another provider.
    if (!part.file.file_data) {
      uncarried.add(`${path}.file.file_id`);
      return null;
    }
    if (part.file.file_id) uncarried.add(`${path}.file.file_id`);
    const document: DocumentBlock = { type: "document", source: parseDataUrl(part.file.file_data) };
    if (part.file.filename) document.title = part.file.filename;
    return withCacheHint(document, part);
  }
  uncarried.add(`${path}.${part.type}`);
  return null;
}

function decodeContent(content: OpenAIMessage["content"], path: string, uncarried: Set<string>): ContentBlock[] {
  if (content === undefined || content === null) return [];
  if (typeof content === "string") return content === "" ? [] : [{ type: "text", text: content }];
  const blocks: ContentBlock[] = [];
  for (const part of content) {
    const block = decodePart(part, `${path}[]`, uncarried);
    if (block) blocks.push(block);
  }
  return blocks;
}

function textOnly(blocks: ContentBlock[]): TextBlock[] {
  return blocks.filter((block): block is TextBlock => block.type === "text");
}

function parseArguments(text: string): unknown {
  if (text.trim() === "") return {};
  try {
    return JSON.parse(text);
  } catch {
    // Kept as the raw text so nothing the model wrote is lost on the way back.
    return text;
  }
}

function decodeMessages(wire: OpenAIChatRequest, uncarried: Set<string>): { system: TextBlock[]; messages: ChatMessage[] } {
  const system: TextBlock[] = [];
  const messages: ChatMessage[] = [];
  for (const message of wire.messages) {
    listExtraFields(message, MESSAGE_FIELDS, "messages[]", uncarried);
    if (message.name !== undefined && message.role !== "function") uncarried.add("messages[].name");
    switch (message.role) {
      case "system":
      case "developer": {
        const blocks = textOnly(decodeContent(message.content, "messages[].content", uncarried));
        markLast(blocks, message);
        system.push(...blocks);
        break;
      }
      case "user": {
        const content = decodeContent(message.content, "messages[].content", uncarried);
        markLast(content, message);
        messages.push({ role: "user", content });
        break;
      }
      case "assistant": {
        const content: ContentBlock[] = [];
        if (message.reasoning_content) content.push({ type: "thinking", text: message.reasoning_content });
        content.push(...decodeContent(message.content, "messages[].content", uncarried));
        if (message.refusal) content.push({ type: "text", text: message.refusal });
        for (const call of message.tool_calls ?? []) {
          listExtraFields(call, TOOL_CALL_FIELDS, "messages[].tool_calls[]", uncarried);
          listExtraFields(call.function, TOOL_CALL_FUNCTION_FIELDS, "messages[].tool_calls[].function", uncarried);
          content.push({ type: "tool-use", id: call.id, name: call.function.name, input: parseArguments(call.function.arguments) });
        }
        markLast(content, message);
        messages.push({ role: "assistant", content });
        break;
      }
      case "tool":
      case "function": {
        const toolUseId = message.tool_call_id ?? message.name;
        if (!toolUseId) throw new GatewayError("invalid_request", "Invalid request: messages[].tool_call_id is required for tool messages.", { param: "messages[].tool_call_id" });
        const result = decodeContent(message.content, "messages[].content", uncarried).filter(
          (block): block is TextBlock | ImageBlock | DocumentBlock => block.type === "text" || block.type === "image" || block.type === "document",
        );
        const block = withCacheHint<ToolResultBlock>({ type: "tool-result", toolUseId, content: result, isError: false }, message);
        // Consecutive tool results answer one assistant turn: they share one user message.
        const previous = messages.at(-1);
        if (previous?.role === "user" && previous.content.every((existing) => existing.type === "tool-result")) previous.content.push(block);
        else messages.push({ role: "user", content: [block] });
        break;
      }
    }
  }
  return { system, messages };
}

function decodeToolChoice(choice: OpenAIChatRequest["tool_choice"]): ToolChoice | undefined {
  if (choice === undefined) return undefined;
  if (choice === "none") return { type: "none" };
  if (choice === "auto") return { type: "auto" };
  if (choice === "required") return { type: "any" };
  return { type: "tool", name: choice.function.name };
}

function decodeEffort(effort: string | null | undefined): ReasoningEffort | undefined {
  if (effort === "minimal" || effort === "low" || effort === "medium" || effort === "high") return effort;
  if (effort === null || effort === undefined) return undefined;
  throw new GatewayError("invalid_request", `Invalid request: reasoning_effort must be one of minimal, low, medium, high.`, { param: "reasoning_effort" });
}

export function decodeOpenAIRequest(wire: OpenAIChatRequest, raw: Record<string, unknown>): DecodedOpenAIRequest {
  if (wire.n !== undefined && wire.n !== null && wire.n > 1)
    throw new GatewayError("invalid_request", "Invalid request: n > 1 is not supported; send separate requests.", { param: "n" });
  const uncarried = new Set<string>();
  for (const field of Object.keys(raw)) if (!CARRIED_FIELDS.has(field)) uncarried.add(field);
  if (isRecord(wire.stream_options)) listExtraFields(wire.stream_options, STREAM_OPTIONS_FIELDS, "stream_options", uncarried);
  const { system, messages } = decodeMessages(wire, uncarried);
  const effort = decodeEffort(wire.reasoning_effort);
  const request: ChatRequest = {
    model: wire.model,
    system,
    messages,
    // Both may be sent; an upstream may honour either, so the allowance (held, estimated) is the larger.
    maxTokens: largerOf(wire.max_completion_tokens, wire.max_tokens),
    stream: wire.stream === true,
    stopSequences: wire.stop === undefined || wire.stop === null ? [] : typeof wire.stop === "string" ? [wire.stop] : wire.stop,
    tools: (wire.tools ?? []).map((tool) => {
      listExtraFields(tool, TOOL_FIELDS, "tools[]", uncarried);
      listExtraFields(tool.function, TOOL_FUNCTION_FIELDS, "tools[].function", uncarried);
      return withCacheHint<ToolDefinition>(
        {
          name: tool.function.name,
          ...(tool.function.description !== undefined ? { description: tool.function.description } : {}),
          inputSchema: tool.function.parameters ?? { type: "object", properties: {} },
          ...(typeof tool.function.strict === "boolean" ? { strict: tool.function.strict } : {}),
        },
        tool,
      );
    }),
    includeUsage: wire.stream_options?.include_usage === true,
  };
  const toolChoice = decodeToolChoice(wire.tool_choice);
  if (toolChoice) request.toolChoice = toolChoice;
  if (typeof wire.parallel_tool_calls === "boolean") request.parallelToolCalls = wire.parallel_tool_calls;
  if (typeof wire.temperature === "number") request.temperature = wire.temperature;
  if (typeof wire.top_p === "number") request.topP = wire.top_p;
  if (typeof wire.seed === "number") request.seed = wire.seed;
  if (typeof wire.presence_penalty === "number") request.presencePenalty = wire.presence_penalty;
  if (typeof wire.frequency_penalty === "number") request.frequencyPenalty = wire.frequency_penalty;
  if (wire.user !== undefined) request.userId = wire.user;
  if (effort) request.thinking = { budgetTokens: EFFORT_BUDGET[effort], effort };
  const format = wire.response_format;
  if (format?.type === "json_object") request.responseFormat = { type: "json_object" };
  else if (format?.type === "json_schema") {
    listExtraFields(format.json_schema, JSON_SCHEMA_FIELDS, "response_format.json_schema", uncarried);
    request.responseFormat = {
      type: "json_schema",
      name: format.json_schema.name,
      schema: format.json_schema.schema ?? {},
      ...(typeof format.json_schema.strict === "boolean" ? { strict: format.json_schema.strict } : {}),
      ...(format.json_schema.description !== undefined ? { description: format.json_schema.description } : {}),
    };
  } else if (format?.type === "text") request.responseFormat = { type: "text" };
  return { request, uncarried: [...uncarried] };
}
