/**
 * OpenAI Chat Completions wire types (TypeBox) for the fields Tollgate reads. Objects are open:
 * unknown fields are allowed (and forwarded on same-dialect calls).
 * @see https://platform.openai.com/docs/api-reference/chat/create
 */

import { Type, type Static } from "@sinclair/typebox";
import { compileOnFirstUse } from "../../lib/lazy-check.ts";
import { MAX_MODEL_ID_LENGTH } from "../../routing/catalog.ts";

const TextPart = Type.Object({ type: Type.Literal("text"), text: Type.String() });
const ImagePart = Type.Object({
  type: Type.Literal("image_url"),
  image_url: Type.Object({ url: Type.String({ minLength: 1 }), detail: Type.Optional(Type.String()) }),
});
const FilePart = Type.Object({
  type: Type.Literal("file"),
  file: Type.Object({
    file_data: Type.Optional(Type.String()),
    file_id: Type.Optional(Type.String()),
    filename: Type.Optional(Type.String()),
  }),
});
const OtherPart = Type.Object({ type: Type.String() });
const ContentPart = Type.Union([TextPart, ImagePart, FilePart, OtherPart]);

const ToolCall = Type.Object({
  id: Type.String(),
  type: Type.Optional(Type.Literal("function")),
  function: Type.Object({ name: Type.String(), arguments: Type.String() }),
});

const Message = Type.Object({
  role: Type.Union([
    Type.Literal("system"),
    Type.Literal("developer"),
    Type.Literal("user"),
    Type.Literal("assistant"),
    Type.Literal("tool"),
    Type.Literal("function"),
  ]),
  content: Type.Optional(Type.Union([Type.String(), Type.Array(ContentPart), Type.Null()])),
  name: Type.Optional(Type.String()),
  tool_calls: Type.Optional(Type.Array(ToolCall)),
  tool_call_id: Type.Optional(Type.String()),
  reasoning_content: Type.Optional(Type.Union([Type.String(), Type.Null()])),
  refusal: Type.Optional(Type.Union([Type.String(), Type.Null()])),
});

const FunctionTool = Type.Object({
  type: Type.Literal("function"),
  function: Type.Object({
    name: Type.String({ minLength: 1 }),
    description: Type.Optional(Type.String()),
    parameters: Type.Optional(Type.Record(Type.String(), Type.Unknown())),
    strict: Type.Optional(Type.Union([Type.Boolean(), Type.Null()])),
  }),
});

const ToolChoice = Type.Union([
  Type.Literal("none"),
  Type.Literal("auto"),
  Type.Literal("required"),
  Type.Object({ type: Type.Literal("function"), function: Type.Object({ name: Type.String() }) }),
]);

const ResponseFormat = Type.Union([
  Type.Object({ type: Type.Literal("text") }),
  Type.Object({ type: Type.Literal("json_object") }),
  Type.Object({
    type: Type.Literal("json_schema"),
    json_schema: Type.Object({
      name: Type.String(),
      description: Type.Optional(Type.String()),
      schema: Type.Optional(Type.Record(Type.String(), Type.Unknown())),
      strict: Type.Optional(Type.Union([Type.Boolean(), Type.Null()])),
    }),
  }),
]);

const MaybeNumber = (options: { minimum?: number; maximum?: number } = {}) =>
  Type.Optional(Type.Union([Type.Number(options), Type.Null()]));
const MaybeInt = (options: { minimum?: number } = {}) => Type.Optional(Type.Union([Type.Integer(options), Type.Null()]));

export const OpenAIChatRequestSchema = Type.Object({
  model: Type.String({ minLength: 1, maxLength: MAX_MODEL_ID_LENGTH }),
  messages: Type.Array(Message, { minItems: 1 }),
  max_tokens: MaybeInt({ minimum: 1 }),
  max_completion_tokens: MaybeInt({ minimum: 1 }),
  stream: Type.Optional(Type.Union([Type.Boolean(), Type.Null()])),
  stream_options: Type.Optional(Type.Union([Type.Object({ include_usage: Type.Optional(Type.Boolean()) }), Type.Null()])),
  temperature: MaybeNumber({ minimum: 0, maximum: 2 }),
  top_p: MaybeNumber({ minimum: 0, maximum: 1 }),
  n: MaybeInt({ minimum: 1 }),
  stop: Type.Optional(Type.Union([Type.String(), Type.Array(Type.String()), Type.Null()])),
  tools: Type.Optional(Type.Array(FunctionTool)),
  tool_choice: Type.Optional(ToolChoice),
  parallel_tool_calls: Type.Optional(Type.Union([Type.Boolean(), Type.Null()])),
  response_format: Type.Optional(ResponseFormat),
  reasoning_effort: Type.Optional(Type.Union([Type.String(), Type.Null()])),
  user: Type.Optional(Type.String()),
  seed: MaybeInt(),
  presence_penalty: MaybeNumber({ minimum: -2, maximum: 2 }),
  frequency_penalty: MaybeNumber({ minimum: -2, maximum: 2 }),
});

export type OpenAIChatRequest = Static<typeof OpenAIChatRequestSchema>;
export type OpenAIMessage = Static<typeof Message>;
export type OpenAIContentPart = Static<typeof ContentPart>;

export const openAIChatRequestCheck = compileOnFirstUse(OpenAIChatRequestSchema);

export type OpenAIFinishReason = "stop" | "length" | "tool_calls" | "content_filter";

export interface OpenAIUsage {
  prompt_tokens: number;
  completion_tokens: number;
  total_tokens: number;
  prompt_tokens_details: { cached_tokens: number };
  completion_tokens_details: { reasoning_tokens: number };
}

/** POST /v1/embeddings: the fields Tollgate reads; the rest is forwarded. */
export const OpenAIEmbeddingsRequestSchema = Type.Object({
  model: Type.String({ minLength: 1, maxLength: MAX_MODEL_ID_LENGTH }),
  input: Type.Union([
    Type.String(),
    Type.Array(Type.String(), { minItems: 1 }),
    Type.Array(Type.Integer(), { minItems: 1 }),
    Type.Array(Type.Array(Type.Integer()), { minItems: 1 }),
  ]),
  encoding_format: Type.Optional(Type.Union([Type.Literal("float"), Type.Literal("base64")])),
  dimensions: Type.Optional(Type.Integer({ minimum: 1 })),
  user: Type.Optional(Type.String()),
});

export type OpenAIEmbeddingsRequest = Static<typeof OpenAIEmbeddingsRequestSchema>;
export const openAIEmbeddingsRequestCheck = compileOnFirstUse(OpenAIEmbeddingsRequestSchema);
