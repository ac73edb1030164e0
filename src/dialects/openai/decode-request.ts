/**
 * OpenAI Chat Completions request → ChatRequest. System and developer messages become the system
 * prompt; tool messages become tool-result blocks; data-URL images become base64 images. Fields the
 * canonical form cannot carry are listed in `uncarried` (reported as dropped when translating).
 */

import type {
  ChatMessage,
  ChatRequest,
  ContentBlock,
  DocumentBlock,
  ImageBlock,
  MediaSource,
  ReasoningEffort,
  TextBlock,
  ToolChoice,
} from "../../canonical/request.ts";
import { GatewayError } from "../../errors.ts";
import type { OpenAIChatRequest, OpenAIContentPart, OpenAIMessage } from "./wire.ts";

export interface DecodedOpenAIRequest {
  request: ChatRequest;
  uncarried: string[];
}

const EFFORT_BUDGET: Record<ReasoningEffort, number> = { minimal: 1024, low: 2048, medium: 8192, high: 24_576 };

/** Request fields the canonical form carries; anything else present is `uncarried`. */
const CARRIED_FIELDS = new Set([
  "model", "messages", "max_tokens", "max_completion_tokens", "stream", "stream_options", "temperature", "top_p",
  "stop", "tools", "tool_choice", "parallel_tool_calls", "response_format", "reasoning_effort", "user", "seed",
  "presence_penalty", "frequency_penalty", "n",
]);

export function parseDataUrl(url: string): MediaSource {
  const match = /^data:([^;,]+)(?:;[^,]*)?;base64,(.*)$/s.exec(url);
  if (match?.[1] && match[2] !== undefined) return { kind: "base64", mediaType: match[1], data: match[2] };
  return { kind: "url", url };
}

function decodePart(part: OpenAIContentPart, path: string, uncarried: Set<string>): ContentBlock | null {
  if (part.type === "text" && "text" in part) return { type: "text", text: part.text };
  if (part.type === "image_url" && "image_url" in part) {
    if (part.image_url.detail !== undefined) uncarried.add(`${path}.image_url.detail`);
    const image: ImageBlock = { type: "image", source: parseDataUrl(part.image_url.url) };
    return image;
  }
  if (part.type === "file" && "file" in part && part.file.file_data) {
    const source = parseDataUrl(part.file.file_data);
    const document: DocumentBlock = { type: "document", source };
    if (part.file.filename) document.title = part.file.filename;
    return document;
  }
  uncarried.add(`${path}`);
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
    if (message.name !== undefined && message.role !== "function") uncarried.add("messages[].name");
    switch (message.role) {
      case "system":
      case "developer":
        system.push(...textOnly(decodeContent(message.content, "messages[].content", uncarried)));
        break;
      case "user":
        messages.push({ role: "user", content: decodeContent(message.content, "messages[].content", uncarried) });
        break;
      case "assistant": {
        const content: ContentBlock[] = [];
        if (message.reasoning_content) content.push({ type: "thinking", text: message.reasoning_content });
        content.push(...decodeContent(message.content, "messages[].content", uncarried));
        if (message.refusal) content.push({ type: "text", text: message.refusal });
        for (const call of message.tool_calls ?? []) {
          content.push({ type: "tool-use", id: call.id, name: call.function.name, input: parseArguments(call.function.arguments) });
        }
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
        const block: ContentBlock = { type: "tool-result", toolUseId, content: result, isError: false };
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
  const { system, messages } = decodeMessages(wire, uncarried);
  const effort = decodeEffort(wire.reasoning_effort);
  const request: ChatRequest = {
    model: wire.model,
    system,
    messages,
    maxTokens: wire.max_completion_tokens ?? wire.max_tokens ?? null,
    stream: wire.stream === true,
    stopSequences: wire.stop === undefined || wire.stop === null ? [] : typeof wire.stop === "string" ? [wire.stop] : wire.stop,
    tools: (wire.tools ?? []).map((tool) => ({
      name: tool.function.name,
      ...(tool.function.description !== undefined ? { description: tool.function.description } : {}),
      inputSchema: tool.function.parameters ?? { type: "object", properties: {} },
      ...(typeof tool.function.strict === "boolean" ? { strict: tool.function.strict } : {}),
    })),
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
