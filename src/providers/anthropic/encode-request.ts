/**
 * ChatRequest → Anthropic Messages request body, for an `anthropic` upstream. Owns message merging
 * (Anthropic requires alternating roles), the thinking-budget rule (SPEC §2) and the list of dropped
 * fields, named as the client sent them.
 * @see https://docs.anthropic.com/en/api/messages
 */

import type {
  CacheHint,
  ChatMessage,
  ChatRequest,
  ContentBlock,
  DocumentBlock,
  MediaSource,
  TextBlock,
  ToolDefinition,
} from "../../canonical/request.ts";

type Json = Record<string, unknown>;

export interface AnthropicUpstreamEncoding {
  body: Record<string, unknown>;
  /** Client field names with no counterpart upstream (for `x-tollgate-dropped-fields`). */
  dropped: string[];
}

export interface AnthropicUpstreamOptions {
  upstreamModel: string;
  maxTokens: number;
  stream: boolean;
}

/** Anthropic rejects thinking budgets below this. @see https://docs.anthropic.com/en/docs/build-with-claude/extended-thinking */
export const ANTHROPIC_MIN_THINKING_BUDGET = 1024;
/** With thinking on, Anthropic accepts top_p only in [0.95, 1]. */
const THINKING_MIN_TOP_P = 0.95;

function cacheControl(hint: CacheHint | undefined): Json {
  if (!hint) return {};
  return { cache_control: hint.ttl === undefined ? { type: hint.type } : { type: hint.type, ttl: hint.ttl } };
}

function encodeMediaSource(source: MediaSource): Json {
  return source.kind === "base64"
    ? { type: "base64", media_type: source.mediaType, data: source.data }
    : { type: "url", url: source.url };
}

function encodeDocumentSource(source: DocumentBlock["source"]): Json {
  if (source.kind === "text") return { type: "text", media_type: "text/plain", data: source.data };
  return encodeMediaSource(source);
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** Anthropic's tool_use.input must be an object; OpenAI clients may send unparseable argument text. */
function encodeToolInput(input: unknown): Record<string, unknown> {
  if (isPlainObject(input)) return input;
  if (typeof input === "string") {
    try {
      const parsed: unknown = JSON.parse(input);
      if (isPlainObject(parsed)) return parsed;
    } catch {
      // Not JSON: nothing of it can be sent as an object.
    }
  }
  return {};
}

function encodeTextBlock(block: TextBlock): Json | null {
  // Anthropic rejects empty text blocks; dropping one loses nothing.
  if (block.text === "") return null;
  return { type: "text", text: block.text, ...cacheControl(block.cacheControl) };
}

function encodeToolResultContent(content: ContentBlock[], dropped: Set<string>): string | Json[] | undefined {
  const blocks = content.map((block) => encodeBlock(block, dropped)).filter((block) => block !== null);
  if (blocks.length === 0) return undefined;
  const only = content.length === 1 ? content[0] : undefined;
  if (only?.type === "text" && only.cacheControl === undefined) return only.text;
  return blocks;
}

function encodeBlock(block: ContentBlock, dropped: Set<string>): Json | null {
  switch (block.type) {
    case "text":
      return encodeTextBlock(block);
    case "image":
      return { type: "image", source: encodeMediaSource(block.source), ...cacheControl(block.cacheControl) };
    case "document":
      return {
        type: "document",
        source: encodeDocumentSource(block.source),
        ...(block.title !== undefined ? { title: block.title } : {}),
        ...cacheControl(block.cacheControl),
      };
    case "tool-use":
      return { type: "tool_use", id: block.id, name: block.name, input: encodeToolInput(block.input), ...cacheControl(block.cacheControl) };
    case "tool-result": {
      const content = encodeToolResultContent(block.content, dropped);
      return {
        type: "tool_result",
        tool_use_id: block.toolUseId,
        ...(content !== undefined ? { content } : {}),
        ...(block.isError ? { is_error: true } : {}),
        ...cacheControl(block.cacheControl),
      };
    }
    case "thinking":
      // Anthropic verifies signatures; unsigned reasoning (an OpenAI client's reasoning_content) cannot go back.
      if (block.signature === undefined || block.signature === "") {
        dropped.add("messages[].reasoning_content");
        return null;
      }
      return { type: "thinking", thinking: block.text, signature: block.signature };
    case "redacted-thinking":
      return { type: "redacted_thinking", data: block.data };
  }
}

/** Tool results must open a user turn's content (Anthropic rejects text before them). */
function toolResultsFirst(content: Json[]): Json[] {
  return [
    ...content.filter((block) => block.type === "tool_result"),
    ...content.filter((block) => block.type !== "tool_result"),
  ];
}

function encodeMessages(messages: ChatMessage[], dropped: Set<string>): Json[] {
  const merged: Array<{ role: ChatMessage["role"]; content: Json[] }> = [];
  for (const message of messages) {
    const content = message.content.map((block) => encodeBlock(block, dropped)).filter((block) => block !== null);
    // A message left empty by drops is skipped; its neighbours may then merge.
    if (content.length === 0) continue;
    const last = merged.at(-1);
    if (last?.role === message.role) last.content.push(...content);
    else merged.push({ role: message.role, content });
  }
  return merged.map((message) => ({
    role: message.role,
    content: message.role === "user" ? toolResultsFirst(message.content) : message.content,
  }));
}

function encodeSystem(system: TextBlock[]): string | Json[] | undefined {
  const blocks = system.filter((block) => block.text !== "");
  const only = blocks.length === 1 ? blocks[0] : undefined;
  if (only && only.cacheControl === undefined) return only.text;
  if (blocks.length === 0) return undefined;
  return blocks.map((block) => ({ type: "text", text: block.text, ...cacheControl(block.cacheControl) }));
}

function encodeTools(tools: ToolDefinition[]): Json[] {
  return tools.map((tool) => {
    // Anthropic requires an object schema with `type`; OpenAI tolerates it missing.
    const schema = tool.inputSchema.type === undefined ? { type: "object", ...tool.inputSchema } : tool.inputSchema;
    return {
      name: tool.name,
      ...(tool.description !== undefined ? { description: tool.description } : {}),
      input_schema: schema,
      // Structured tool use: Anthropic's own guarantee of schema-valid inputs.
      ...(tool.strict === true ? { strict: true } : {}),
      ...cacheControl(tool.cacheControl),
    };
  });
}

function forcesToolUse(request: ChatRequest): boolean {
  const type = request.toolChoice?.type;
  return request.tools.length > 0 && (type === "any" || type === "tool");
}

function encodeToolChoice(request: ChatRequest): Json | undefined {
  // Anthropic rejects tool_choice without tools; without tools it changes nothing anyway.
  if (request.tools.length === 0) return undefined;
  const choice = request.toolChoice;
  if (choice?.type === "none") return { type: "none" };
  const base: Json = choice === undefined ? { type: "auto" } : choice.type === "tool" ? { type: "tool", name: choice.name } : { type: choice.type };
  if (request.parallelToolCalls === false) return { ...base, disable_parallel_tool_use: true };
  return choice === undefined ? undefined : base;
}

/**
 * With thinking on, Anthropic requires the last assistant turn, when it called tools, to open with a
 * (signed) thinking block; histories from OpenAI clients never do.
 */
function toolTurnOpensWithThinking(messages: Json[]): boolean {
  const last = messages.findLast((message) => message.role === "assistant");
  const content = Array.isArray(last?.content) ? (last.content as Json[]) : [];
  if (!content.some((block) => block.type === "tool_use")) return true;
  const first = content[0]?.type;
  return first === "thinking" || first === "redacted_thinking";
}

/**
 * SPEC §2: a budget at or above max_tokens becomes max_tokens − 1; below Anthropic's minimum, with a
 * forced tool, or with a tool turn Anthropic would refuse, thinking is dropped under the client's name.
 */
function encodeThinking(request: ChatRequest, messages: Json[], maxTokens: number | null, dropped: Set<string>): Json | undefined {
  const config = request.thinking;
  if (!config) return undefined;
  const budget = maxTokens !== null && config.budgetTokens >= maxTokens ? maxTokens - 1 : config.budgetTokens;
  if (budget < ANTHROPIC_MIN_THINKING_BUDGET || forcesToolUse(request) || !toolTurnOpensWithThinking(messages)) {
    dropped.add(config.effort !== undefined ? "reasoning_effort" : "thinking");
    return undefined;
  }
  return { type: "enabled", budget_tokens: budget };
}

/**
 * The parts shared by messages and count_tokens: system, messages, tools, tool_choice, thinking.
 * `maxTokens` null (count_tokens) skips the budget-versus-max_tokens rule.
 */
export function encodeAnthropicConversation(request: ChatRequest, maxTokens: number | null, dropped: Set<string>): Json {
  const system = encodeSystem(request.system);
  const messages = encodeMessages(request.messages, dropped);
  const tools = encodeTools(request.tools);
  const toolChoice = encodeToolChoice(request);
  const thinking = encodeThinking(request, messages, maxTokens, dropped);
  return {
    ...(system !== undefined ? { system } : {}),
    messages,
    ...(tools.length > 0 ? { tools } : {}),
    ...(toolChoice !== undefined ? { tool_choice: toolChoice } : {}),
    ...(thinking !== undefined ? { thinking } : {}),
  };
}

/**
 * Sampling parameters. OpenAI's temperature range is 0..2, Anthropic's 0..1: values are clamped, not
 * listed. Thinking forbids temperature and top_k and narrows top_p. Current Claude models refuse
 * temperature and top_p together, so top_p yields to temperature.
 */
function encodeSampling(request: ChatRequest, thinking: boolean, dropped: Set<string>): Json {
  const sampling: Json = {};
  if (request.temperature !== undefined) {
    if (thinking) dropped.add("temperature");
    else sampling.temperature = Math.min(Math.max(request.temperature, 0), 1);
  }
  if (request.topP !== undefined) {
    if (sampling.temperature !== undefined || (thinking && request.topP < THINKING_MIN_TOP_P)) dropped.add("top_p");
    else sampling.top_p = request.topP;
  }
  if (request.topK !== undefined) {
    if (thinking) dropped.add("top_k");
    else sampling.top_k = request.topK;
  }
  return sampling;
}

/** Fields only OpenAI clients send, with no Anthropic counterpart (JSON mode without a schema among them). */
function listOpenAIOnlyFields(request: ChatRequest, dropped: Set<string>): void {
  if (request.responseFormat?.type === "json_object") dropped.add("response_format");
  if (request.seed !== undefined) dropped.add("seed");
  if (request.presencePenalty !== undefined) dropped.add("presence_penalty");
  if (request.frequencyPenalty !== undefined) dropped.add("frequency_penalty");
}

/**
 * Structured outputs: a JSON schema is Anthropic's `output_config.format` (strict by nature there); its
 * name and description have no place in it.
 */
function encodeOutputConfig(request: ChatRequest, dropped: Set<string>): Json | undefined {
  const format = request.responseFormat;
  if (format?.type !== "json_schema") return undefined;
  dropped.add("response_format.json_schema.name");
  if (format.description !== undefined) dropped.add("response_format.json_schema.description");
  return { format: { type: "json_schema", schema: format.schema } };
}

/**
 * Anthropic refuses a stop sequence without a non-whitespace character ("\n" is a common OpenAI stop):
 * those are left out and `stop` named as dropped.
 */
function encodeStopSequences(request: ChatRequest, dropped: Set<string>): string[] {
  const kept = request.stopSequences.filter((sequence) => sequence.trim() !== "");
  if (kept.length < request.stopSequences.length) dropped.add("stop");
  return kept;
}

export function encodeAnthropicUpstreamRequest(request: ChatRequest, options: AnthropicUpstreamOptions): AnthropicUpstreamEncoding {
  const dropped = new Set<string>();
  const conversation = encodeAnthropicConversation(request, options.maxTokens, dropped);
  const sampling = encodeSampling(request, conversation.thinking !== undefined, dropped);
  listOpenAIOnlyFields(request, dropped);
  const stopSequences = encodeStopSequences(request, dropped);
  const outputConfig = encodeOutputConfig(request, dropped);
  const body: Json = {
    model: options.upstreamModel,
    max_tokens: options.maxTokens,
    ...conversation,
    ...sampling,
    ...(stopSequences.length > 0 ? { stop_sequences: stopSequences } : {}),
    ...(outputConfig !== undefined ? { output_config: outputConfig } : {}),
    ...(request.userId !== undefined ? { metadata: { user_id: request.userId } } : {}),
    stream: options.stream,
  };
  return { body, dropped: [...dropped] };
}
