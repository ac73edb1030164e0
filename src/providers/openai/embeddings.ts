/**
 * Embeddings for OpenAI-compatible upstreams (OpenAI, Voyage, vLLM): the client's body goes through with
 * the upstream model id; the billed token count is read back from `usage`.
 * @see https://platform.openai.com/docs/api-reference/embeddings/create
 */

import { Type } from "@sinclair/typebox";
import { compileOnFirstUse } from "../../lib/lazy-check.ts";

const Count = Type.Optional(Type.Union([Type.Number({ minimum: 0 }), Type.Null()]));
const embeddingsUsageCheck = compileOnFirstUse(
  Type.Object({ usage: Type.Object({ prompt_tokens: Count, total_tokens: Count }) }),
);

/** Forwards every field the client sent (dimensions, encoding_format, input_type…); only `model` changes. */
export function encodeOpenAIEmbeddingsRequest(raw: Record<string, unknown>, upstreamModel: string): Record<string, unknown> {
  return { ...raw, model: upstreamModel };
}

/** Input tokens of an embeddings answer: `prompt_tokens` (OpenAI), else `total_tokens` (Voyage), else 0. */
export function decodeOpenAIEmbeddingsUsage(body: unknown): number {
  if (!embeddingsUsageCheck.Check(body)) return 0;
  return body.usage.prompt_tokens ?? body.usage.total_tokens ?? 0;
}
