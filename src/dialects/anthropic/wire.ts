/**
 * Anthropic Messages wire types (TypeBox) for the fields Tollgate reads, plus the response shapes it
 * writes. Objects are open: unknown fields, block types, source types and server tools pass the schema
 * (they are forwarded on same-dialect calls and dropped, by name, when translating).
 * @see https://docs.anthropic.com/en/api/messages
 */

import { Type, type Static, type TSchema } from "@sinclair/typebox";
import { compileOnFirstUse } from "../../lib/lazy-check.ts";
import { MAX_MODEL_ID_LENGTH } from "../../routing/catalog.ts";

/** A `type` discriminator other than the listed ones: lets unknown variants through without shadowing known ones. */
function typeOtherThan(...known: string[]) {
  return Type.String({ pattern: `^(?!(?:${known.join("|")})$)` });
}

const Nullable = <T extends TSchema>(schema: T) => Type.Optional(Type.Union([schema, Type.Null()]));

const CacheControl = Nullable(Type.Object({ type: Type.String(), ttl: Type.Optional(Type.String()) }));

const Base64Source = Type.Object({ type: Type.Literal("base64"), media_type: Type.String(), data: Type.String() });
const UrlSource = Type.Object({ type: Type.Literal("url"), url: Type.String({ minLength: 1 }) });
const PlainTextSource = Type.Object({ type: Type.Literal("text"), media_type: Type.Literal("text/plain"), data: Type.String() });
const KnownImageSource = Type.Union([Base64Source, UrlSource]);
const KnownDocumentSource = Type.Union([Base64Source, UrlSource, PlainTextSource]);
/** `file` (Files API), `content` (custom content documents) and later kinds. */
const OtherImageSource = Type.Object({ type: typeOtherThan("base64", "url") });
const OtherDocumentSource = Type.Object({ type: typeOtherThan("base64", "url", "text") });

const TextBlock = Type.Object({
  type: Type.Literal("text"),
  text: Type.String(),
  cache_control: CacheControl,
  citations: Nullable(Type.Array(Type.Unknown())),
});
const ImageBlock = Type.Object({
  type: Type.Literal("image"),
  source: Type.Union([KnownImageSource, OtherImageSource]),
  cache_control: CacheControl,
});
const DocumentBlock = Type.Object({
  type: Type.Literal("document"),
  source: Type.Union([KnownDocumentSource, OtherDocumentSource]),
  title: Nullable(Type.String()),
  cache_control: CacheControl,
});
const ToolUseBlock = Type.Object({
  type: Type.Literal("tool_use"),
  id: Type.String(),
  name: Type.String(),
  input: Type.Unknown(),
  cache_control: CacheControl,
});
const KnownToolResultPart = Type.Union([TextBlock, ImageBlock, DocumentBlock]);
const OtherToolResultPart = Type.Object({ type: typeOtherThan("text", "image", "document") });
const ToolResultBlock = Type.Object({
  type: Type.Literal("tool_result"),
  tool_use_id: Type.String(),
  content: Type.Optional(Type.Union([Type.String(), Type.Array(Type.Union([KnownToolResultPart, OtherToolResultPart]))])),
  is_error: Type.Optional(Type.Boolean()),
  cache_control: CacheControl,
});
const ThinkingBlock = Type.Object({ type: Type.Literal("thinking"), thinking: Type.String(), signature: Type.String() });
const RedactedThinkingBlock = Type.Object({ type: Type.Literal("redacted_thinking"), data: Type.String() });

const KNOWN_BLOCK_TYPES = ["text", "image", "document", "tool_use", "tool_result", "thinking", "redacted_thinking"] as const;
const KnownContentBlock = Type.Union([TextBlock, ImageBlock, DocumentBlock, ToolUseBlock, ToolResultBlock, ThinkingBlock, RedactedThinkingBlock]);
/** server_tool_use, web_search_tool_result, search_result, container_upload and later block types. */
const OtherContentBlock = Type.Object({ type: typeOtherThan(...KNOWN_BLOCK_TYPES) });

const Message = Type.Object({
  // `system` messages are in the SDK's MessageParam; they join the system prompt like OpenAI's do.
  role: Type.Union([Type.Literal("user"), Type.Literal("assistant"), Type.Literal("system")]),
  content: Type.Union([Type.String(), Type.Array(Type.Union([KnownContentBlock, OtherContentBlock]))]),
});

const CustomTool = Type.Object({
  type: Nullable(Type.Literal("custom")),
  name: Type.String({ minLength: 1 }),
  description: Type.Optional(Type.String()),
  input_schema: Type.Record(Type.String(), Type.Unknown()),
  strict: Type.Optional(Type.Boolean()),
  cache_control: CacheControl,
});
/** Anthropic-run tools (`web_search_20250305`, `code_execution_…`, …): a `type` other than `custom`. */
const ServerTool = Type.Object({ type: typeOtherThan("custom"), name: Type.Optional(Type.String()) });

const ToolChoice = Type.Union([
  Type.Object({
    type: Type.Union([Type.Literal("auto"), Type.Literal("any"), Type.Literal("none")]),
    disable_parallel_tool_use: Type.Optional(Type.Boolean()),
  }),
  Type.Object({ type: Type.Literal("tool"), name: Type.String({ minLength: 1 }), disable_parallel_tool_use: Type.Optional(Type.Boolean()) }),
]);

const ThinkingEnabled = Type.Object({ type: Type.Literal("enabled"), budget_tokens: Type.Integer({ minimum: 1024 }), display: Nullable(Type.String()) });
const Thinking = Type.Union([
  ThinkingEnabled,
  Type.Object({ type: Type.Literal("disabled") }),
  Type.Object({ type: Type.Literal("adaptive"), display: Nullable(Type.String()) }),
  Type.Object({ type: typeOtherThan("enabled", "disabled", "adaptive") }),
]);

const OutputConfig = Type.Object({
  effort: Nullable(Type.String()),
  format: Nullable(Type.Object({ type: Type.String(), schema: Type.Optional(Type.Record(Type.String(), Type.Unknown())) })),
});

const requestProperties = {
  model: Type.String({ minLength: 1, maxLength: MAX_MODEL_ID_LENGTH }),
  max_tokens: Type.Integer({ minimum: 1 }),
  messages: Type.Array(Message, { minItems: 1 }),
  system: Type.Optional(Type.Union([Type.String(), Type.Array(TextBlock)])),
  stream: Type.Optional(Type.Boolean()),
  stop_sequences: Type.Optional(Type.Array(Type.String())),
  temperature: Type.Optional(Type.Number({ minimum: 0, maximum: 1 })),
  top_p: Type.Optional(Type.Number({ minimum: 0, maximum: 1 })),
  top_k: Type.Optional(Type.Integer({ minimum: 0 })),
  tools: Type.Optional(Type.Array(Type.Union([CustomTool, ServerTool]))),
  tool_choice: Type.Optional(ToolChoice),
  thinking: Type.Optional(Thinking),
  metadata: Type.Optional(Type.Object({ user_id: Nullable(Type.String()) })),
  output_config: Type.Optional(OutputConfig),
};

export const AnthropicMessagesRequestSchema = Type.Object(requestProperties);
/** count_tokens takes the same body without `max_tokens`. @see https://docs.anthropic.com/en/api/messages-count-tokens */
export const AnthropicCountTokensRequestSchema = Type.Object({ ...requestProperties, max_tokens: Type.Optional(requestProperties.max_tokens) });

export const anthropicMessagesRequestCheck = compileOnFirstUse(AnthropicMessagesRequestSchema);
export const anthropicCountTokensRequestCheck = compileOnFirstUse(AnthropicCountTokensRequestSchema);

export type AnthropicMessagesRequest = Static<typeof AnthropicMessagesRequestSchema>;
export type AnthropicCountTokensRequest = Static<typeof AnthropicCountTokensRequestSchema>;
export type AnthropicMessage = Static<typeof Message>;
export type AnthropicContentBlock = AnthropicMessage["content"] extends string | Array<infer B> ? B : never;
export type AnthropicKnownBlock = Static<typeof KnownContentBlock>;
export type AnthropicToolResultPart = Static<typeof KnownToolResultPart>;
export type AnthropicTextBlock = Static<typeof TextBlock>;
export type AnthropicCustomTool = Static<typeof CustomTool>;
export type AnthropicTool = AnthropicCustomTool | Static<typeof ServerTool>;
export type AnthropicThinkingEnabled = Static<typeof ThinkingEnabled>;
export type AnthropicDocumentSource = Static<typeof KnownDocumentSource>;

const KNOWN_BLOCK_SET: ReadonlySet<string> = new Set(KNOWN_BLOCK_TYPES);

/** Sound because the schema routes every block whose `type` is a known one to that type's variant. */
export function isKnownAnthropicBlock(block: { type: string }): block is AnthropicKnownBlock {
  return KNOWN_BLOCK_SET.has(block.type);
}

export function isKnownToolResultPart(part: { type: string }): part is AnthropicToolResultPart {
  return part.type === "text" || part.type === "image" || part.type === "document";
}

export function isCustomAnthropicTool(tool: AnthropicTool): tool is AnthropicCustomTool {
  return tool.type === undefined || tool.type === null || tool.type === "custom";
}

/** Response usage in Anthropic's meaning: `input_tokens` excludes cache reads and writes. */
export interface AnthropicUsage {
  input_tokens: number;
  output_tokens: number;
  cache_creation_input_tokens: number;
  cache_read_input_tokens: number;
  /** Present when the call reasoned: how many of `output_tokens` were thinking. */
  output_tokens_details?: { thinking_tokens: number };
}

export type AnthropicResponseBlock =
  | { type: "text"; text: string }
  | { type: "thinking"; thinking: string; signature: string }
  | { type: "redacted_thinking"; data: string }
  | { type: "tool_use"; id: string; name: string; input: Record<string, unknown> };

export type AnthropicErrorType =
  | "invalid_request_error"
  | "authentication_error"
  | "billing_error"
  | "permission_error"
  | "not_found_error"
  | "request_too_large"
  | "rate_limit_error"
  | "api_error"
  | "overloaded_error"
  | "timeout_error";
