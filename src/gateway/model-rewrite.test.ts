import { describe, expect, test } from "bun:test";
import { anthropicPassthrough } from "../dialects/anthropic/passthrough.ts";
import { openAIPassthrough } from "../dialects/openai/passthrough.ts";
import { ModelRewrite } from "./model-rewrite.ts";

const rewrite = (text: string, wire = openAIPassthrough) => new ModelRewrite(wire, "client-model").apply(text, JSON.parse(text) as Record<string, unknown>);

describe("ModelRewrite: the model id replaced in the upstream's own text", () => {
  test.each([
    ["compact", '{"id":"c","model":"up-model","n":1.0}', '{"id":"c","model":"client-model","n":1.0}'],
    ["a space after the colon (OpenAI's indented answers)", '{\n  "model": "up-model",\n  "n": 1.0\n}', '{\n  "model": "client-model",\n  "n": 1.0\n}'],
    ["spaces and a line break around the colon", '{"model" :\n  "up-model"}', '{"model" :\n  "client-model"}'],
    ["the id quoted inside another string", '{"model":"up-model","content":"say \\"up-model\\" twice"}', '{"model":"client-model","content":"say \\"up-model\\" twice"}'],
  ])("%s: only the value changes", (_name, text, expected) => {
    expect(rewrite(text)).toBe(expected);
  });

  test("Anthropic's message_start carries it inside `message`", () => {
    const text = '{"type":"message_start","message":{"id":"m","model":"up-model","content":[]}}';
    expect(rewrite(text, anthropicPassthrough)).toBe(text.replace('"up-model"', '"client-model"'));
  });

  test("the client's own model id already: the text as it is", () => {
    const text = '{"model": "client-model", "n": 1.0}';
    expect(rewrite(text)).toBe(text);
  });

  test.each([
    ["a nested member with the same id, the top one spaced", '{\n  "model": "up-model",\n  "meta": {"route":{"model":"up-model"}}\n}'],
    ["a key ending in an escaped quote", '{"model": "up-model", "input": {"say \\"model":"up-model"}}'],
    ["the id as another member's value, the model's escaped", '{"name":"up-model","model":"up\\u002dmodel"}'],
  ])("%s: re-serialised, the top-level model replaced and nothing else", (_name, text) => {
    const parsed = JSON.parse(text) as Record<string, unknown>;
    const out = JSON.parse(rewrite(text)) as Record<string, unknown>;
    expect(out.model).toBe("client-model");
    const restored: Record<string, unknown> = { ...out, model: parsed.model };
    expect(restored).toEqual(parsed);
  });
});
