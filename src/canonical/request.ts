/**
 * ChatRequest: the canonical request both dialects decode into and every provider encodes from.
 * Content follows a block model (Anthropic's), which OpenAI's message shapes map onto.
 */

export interface CacheHint {
  type: "ephemeral";
  ttl?: string;
}

export interface TextBlock {
  type: "text";
  text: string;
  cacheControl?: CacheHint;
}

export type MediaSource =
  | { kind: "base64"; mediaType: string; data: string }
  | { kind: "url"; url: string };

export interface ImageBlock {
  type: "image";
  source: MediaSource;
  cacheControl?: CacheHint;
}

export interface DocumentBlock {
  type: "document";
  source: MediaSource | { kind: "text"; mediaType: string; data: string };
  title?: string;
  cacheControl?: CacheHint;
}

export interface ToolUseBlock {
  type: "tool-use";
  id: string;
  name: string;
  /** Parsed JSON arguments (an object for well-formed calls). */
  input: unknown;
  cacheControl?: CacheHint;
}

export interface ToolResultBlock {
  type: "tool-result";
  toolUseId: string;
  content: Array<TextBlock | ImageBlock | DocumentBlock>;
  isError: boolean;
  cacheControl?: CacheHint;
}

export interface ThinkingBlock {
  type: "thinking";
  text: string;
  /** Anthropic's signature; kept so the block can go back to an Anthropic upstream in history. */
  signature?: string;
}

export interface RedactedThinkingBlock {
  type: "redacted-thinking";
  data: string;
}

export type ContentBlock =
  | TextBlock
  | ImageBlock
  | DocumentBlock
  | ToolUseBlock
  | ToolResultBlock
  | ThinkingBlock
  | RedactedThinkingBlock;

export interface ChatMessage {
  role: "user" | "assistant";
  content: ContentBlock[];
}

export interface ToolDefinition {
  name: string;
  description?: string;
  /** JSON Schema of the arguments. */
  inputSchema: Record<string, unknown>;
  strict?: boolean;
  cacheControl?: CacheHint;
}

export type ToolChoice =
  | { type: "auto" }
  | { type: "any" }
  | { type: "none" }
  | { type: "tool"; name: string };

export type ResponseFormat =
  | { type: "text" }
  | { type: "json_object" }
  | { type: "json_schema"; name: string; schema: Record<string, unknown>; strict?: boolean; description?: string };

export type ReasoningEffort = "minimal" | "low" | "medium" | "high";

export interface ThinkingConfig {
  /** Anthropic's budget_tokens; derived from reasoning_effort when the client spoke OpenAI. */
  budgetTokens: number;
  effort?: ReasoningEffort;
}

export interface ChatRequest {
  /** The model id the client sent (public id or alias). */
  model: string;
  system: TextBlock[];
  messages: ChatMessage[];
  /** The client's declared maximum output, null when it gave none (OpenAI allows that). */
  maxTokens: number | null;
  stream: boolean;
  temperature?: number;
  topP?: number;
  topK?: number;
  stopSequences: string[];
  tools: ToolDefinition[];
  toolChoice?: ToolChoice;
  /** false when the client disabled parallel tool calls. */
  parallelToolCalls?: boolean;
  thinking?: ThinkingConfig;
  responseFormat?: ResponseFormat;
  /** End-user id (OpenAI `user`, Anthropic `metadata.user_id`). */
  userId?: string;
  seed?: number;
  presencePenalty?: number;
  frequencyPenalty?: number;
  /** OpenAI `stream_options.include_usage`: whether the client wants the trailing usage chunk. */
  includeUsage: boolean;
}
