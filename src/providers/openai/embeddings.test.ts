import { describe, expect, test } from "bun:test";
import { decodeOpenAIEmbeddingsUsage, encodeOpenAIEmbeddingsRequest } from "./embeddings.ts";

describe("encodeOpenAIEmbeddingsRequest", () => {
  test("forwards the client's body with the upstream model", () => {
    const raw = { model: "text-embedding-3-small", input: ["a", "b"], dimensions: 256, encoding_format: "base64", input_type: "query" };
    expect(encodeOpenAIEmbeddingsRequest(raw, "voyage-3")).toEqual({ ...raw, model: "voyage-3" });
    expect(raw.model).toBe("text-embedding-3-small");
  });
});

describe("decodeOpenAIEmbeddingsUsage", () => {
  test.each([
    ["OpenAI", { object: "list", data: [], usage: { prompt_tokens: 8, total_tokens: 8 } }, 8],
    ["Voyage (total only)", { object: "list", data: [], usage: { total_tokens: 11 } }, 11],
    ["null prompt_tokens", { usage: { prompt_tokens: null, total_tokens: 5 } }, 5],
    ["no usage", { data: [] }, 0],
    ["not an object", "oops", 0],
    ["usage of the wrong type", { usage: { prompt_tokens: "8" } }, 0],
  ])("%s", (_name, body, expected) => {
    expect(decodeOpenAIEmbeddingsUsage(body)).toBe(expected);
  });
});
