/**
 * ChatRequest → the Chat Completions body Tollgate sends to an OpenAI-compatible upstream (OpenAI,
 * DeepSeek, Gemini's OpenAI endpoint, vLLM, Ollama). The mirror image of dialects/openai/decode-request.
 * @see https://platform.openai.com/docs/api-reference/chat/create
 */

import type {
  ChatMessage,
  ChatRequest,
  DocumentBlock,
  ImageBlock,
  ReasoningEffort,
  ResponseFormat,
  ThinkingConfig,
  ToolChoice,
  ToolResultBlock,
} from "../../canonical/request.ts";

export interface OpenAIUpstreamRequestOptions {
  upstreamModel: string;
  maxTokens: number;
  maxTokensField: "max_tokens" | "max_completion_tokens";
  stream: boolean;
}

export interface EncodedOpenAIUpstreamRequest {
  body: Record<string, unknown>;
  /** Names of the client's (Anthropic) request fields with no counterpart here, SPEC §4 convention. */
  dropped: string[];
}

type OpenAIPart =
  | { type: "text"; text: string }
  | { type: "image_url"; image_url: { url: string } }
  | { type: "file"; file: { file_data: string; filename: string } };

type OpenAIUpstreamMessage = Record<string, unknown>;

/** Separator between system blocks and between a tool result's text blocks: separate pieces of text. */
const BLOCK_SEPARATOR = "\n\n";

/**
 * Thinking budget → reasoning_effort, for requests that carry a budget but no effort (Anthropic
 * clients). The cut points sit between the budgets the OpenAI dialect derives from each effort
 * (low 2048, medium 8192, high 24 576), so an effort survives the round trip. "minimal" is never
 * derived: OpenAI's o-series models reject it; an explicit effort is kept as it is.
 */
export function mapThinkingToOpenAIEffort(thinking: ThinkingConfig): ReasoningEffort {
  if (thinking.effort) return thinking.effort;
  if (thinking.budgetTokens < 4096) return "low";
  if (thinking.budgetTokens < 16_384) return "medium";
  return "high";
}

function mediaUrl(source: ImageBlock["source"]): string {
  return source.kind === "url" ? source.url : `data:${source.mediaType};base64,${source.data}`;
}

function defaultFilename(mediaType: string): string {
  const subtype = mediaType.split("/")[1]?.split(/[;+]/)[0];
  return `document.${subtype && /^[a-z0-9.-]+$/i.test(subtype) ? subtype : "bin"}`;
}

/** An image or document as a user-message part; null when it has no counterpart (a URL document). */
function encodeMediaPart(block: ImageBlock | DocumentBlock): OpenAIPart | null {
  if (block.type === "image") return { type: "image_url", image_url: { url: mediaUrl(block.source) } };
  const source = block.source;
  if (source.kind === "text") return { type: "text", text: source.data };
  if (source.kind === "url") return null;
  // OpenAI wants a filename with inline file data; the title is the natural one.
  const filename = block.title ?? defaultFilename(source.mediaType);
  return { type: "file", file: { file_data: `data:${source.mediaType};base64,${source.data}`, filename } };
}

/** A user message's content: a plain string for one text part (what every compatible upstream accepts). */
function userContent(parts: OpenAIPart[]): string | OpenAIPart[] {
  const only = parts[0];
  return parts.length === 1 && only?.type === "text" ? only.text : parts;
}

/**
 * One `tool` message per tool result. Tool messages carry text only, so images and files in a result
 * move to the user message that follows the tool messages.
 */
function encodeToolResult(block: ToolResultBlock, carried: OpenAIPart[], dropped: Set<string>): OpenAIUpstreamMessage {
  const texts: string[] = [];
  for (const item of block.content) {
    if (item.type === "text") texts.push(item.text);
    else if (item.type === "document" && item.source.kind === "text") texts.push(item.source.data);
    else {
      const part = encodeMediaPart(item);
      if (part) carried.push(part);
      else dropped.add(`messages[].content[].content[].${item.type}`);
    }
  }
  if (block.isError) dropped.add("messages[].content[].is_error");
  return { role: "tool", tool_call_id: block.toolUseId, content: texts.join(BLOCK_SEPARATOR) };
}

function encodeUserMessage(message: ChatMessage, dropped: Set<string>): OpenAIUpstreamMessage[] {
  const toolMessages: OpenAIUpstreamMessage[] = [];
  const parts: OpenAIPart[] = [];
  const carried: OpenAIPart[] = [];
  for (const block of message.content) {
    switch (block.type) {
      case "text":
        parts.push({ type: "text", text: block.text });
        break;
      case "image":
      case "document": {
        const part = encodeMediaPart(block);
        if (part) parts.push(part);
        else dropped.add(`messages[].content[].${block.type}`);
        break;
      }
      case "tool-result":
        toolMessages.push(encodeToolResult(block, carried, dropped));
        break;
      case "tool-use":
        dropped.add("messages[].content[].tool_use");
        break;
      case "thinking":
        dropped.add("messages[].content[].thinking");
        break;
      case "redacted-thinking":
        dropped.add("messages[].content[].redacted_thinking");
        break;
    }
  }
  // Tool messages must follow the assistant's tool_calls directly; the rest of the turn comes after.
  const rest = [...carried, ...parts];
  if (rest.length === 0 && toolMessages.length > 0) return toolMessages;
  return [...toolMessages, { role: "user", content: rest.length === 0 ? "" : userContent(rest) }];
}

function encodeAssistantMessage(message: ChatMessage, dropped: Set<string>): OpenAIUpstreamMessage[] {
  let text = "";
  const toolCalls: Array<{ id: string; type: "function"; function: { name: string; arguments: string } }> = [];
  for (const block of message.content) {
    switch (block.type) {
      case "text":
        // Text blocks of one turn are one continuous answer (Anthropic splits at citations).
        text += block.text;
        break;
      case "tool-use": {
        const args = typeof block.input === "string" ? block.input : JSON.stringify(block.input ?? {});
        toolCalls.push({ id: block.id, type: "function", function: { name: block.name, arguments: args } });
        break;
      }
      case "thinking":
        // DeepSeek documents that reasoning_content must not be sent back; others reject or ignore it.
        dropped.add("messages[].content[].thinking");
        break;
      case "redacted-thinking":
        dropped.add("messages[].content[].redacted_thinking");
        break;
      case "image":
      case "document":
        dropped.add(`messages[].content[].${block.type}`);
        break;
      case "tool-result":
        dropped.add("messages[].content[].tool_result");
        break;
    }
  }
  if (toolCalls.length > 0) return [{ role: "assistant", content: text === "" ? null : text, tool_calls: toolCalls }];
  // A turn left empty (thinking only) is omitted: compatible upstreams reject empty assistant content.
  return text === "" ? [] : [{ role: "assistant", content: text }];
}

function encodeMessages(request: ChatRequest, dropped: Set<string>): OpenAIUpstreamMessage[] {
  const messages: OpenAIUpstreamMessage[] = [];
  const system = request.system.map((block) => block.text).filter((text) => text !== "");
  if (system.length > 0) messages.push({ role: "system", content: system.join(BLOCK_SEPARATOR) });
  for (const message of request.messages) {
    messages.push(...(message.role === "user" ? encodeUserMessage(message, dropped) : encodeAssistantMessage(message, dropped)));
  }
  return messages;
}

function encodeToolChoice(choice: ToolChoice): unknown {
  switch (choice.type) {
    case "auto":
      return "auto";
    case "any":
      return "required";
    case "none":
      return "none";
    case "tool":
      return { type: "function", function: { name: choice.name } };
  }
}

function encodeResponseFormat(format: ResponseFormat): Record<string, unknown> {
  if (format.type !== "json_schema") return { type: format.type };
  const jsonSchema: Record<string, unknown> = { name: format.name, schema: format.schema };
  if (format.description !== undefined) jsonSchema.description = format.description;
  if (format.strict !== undefined) jsonSchema.strict = format.strict;
  return { type: "json_schema", json_schema: jsonSchema };
}

/** Builds the upstream body; `dropped` lists what the upstream cannot receive (cache_control is never listed). */
export function encodeOpenAIUpstreamRequest(request: ChatRequest, options: OpenAIUpstreamRequestOptions): EncodedOpenAIUpstreamRequest {
  const dropped = new Set<string>();
  const body: Record<string, unknown> = { model: options.upstreamModel, messages: encodeMessages(request, dropped) };
  body[options.maxTokensField] = options.maxTokens;
  if (options.stream) {
    body.stream = true;
    // The gateway always asks for usage; the client's own wish is applied when relaying.
    body.stream_options = { include_usage: true };
  }
  if (request.temperature !== undefined) body.temperature = request.temperature;
  if (request.topP !== undefined) body.top_p = request.topP;
  if (request.topK !== undefined) dropped.add("top_k");
  if (request.stopSequences.length > 0) body.stop = request.stopSequences;
  if (request.tools.length > 0) {
    body.tools = request.tools.map((tool) => {
      const fn: Record<string, unknown> = { name: tool.name };
      if (tool.description !== undefined) fn.description = tool.description;
      fn.parameters = tool.inputSchema;
      if (tool.strict !== undefined) fn.strict = tool.strict;
      return { type: "function", function: fn };
    });
    // OpenAI rejects tool_choice and parallel_tool_calls without tools; without tools they mean nothing.
    if (request.toolChoice) body.tool_choice = encodeToolChoice(request.toolChoice);
    if (request.parallelToolCalls === false) body.parallel_tool_calls = false;
  }
  if (request.thinking) body.reasoning_effort = mapThinkingToOpenAIEffort(request.thinking);
  if (request.responseFormat) body.response_format = encodeResponseFormat(request.responseFormat);
  if (request.userId !== undefined) body.user = request.userId;
  if (request.seed !== undefined) body.seed = request.seed;
  if (request.presencePenalty !== undefined) body.presence_penalty = request.presencePenalty;
  if (request.frequencyPenalty !== undefined) body.frequency_penalty = request.frequencyPenalty;
  return { body, dropped: [...dropped] };
}
