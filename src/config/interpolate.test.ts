import { describe, expect, test } from "bun:test";
import { interpolateEnv } from "./interpolate.ts";

const missing = (path: string, name: string) =>
  `${path}: environment variable ${name} is not set (write \${${name}:-default} to allow that)`;

describe("interpolateEnv: strings", () => {
  test.each([
    ["plain text", "no references", {}, "no references"],
    ["${VAR}", "${HOST}", { HOST: "example.com" }, "example.com"],
    ["several references in one string", "https://${HOST}:${PORT}/v1", { HOST: "h", PORT: "8080" }, "https://h:8080/v1"],
    ["${VAR:-default} with VAR unset", "${PORT:-8787}", {}, "8787"],
    ["${VAR:-default} with VAR set", "${PORT:-8787}", { PORT: "9000" }, "9000"],
    ["${VAR:-default} with VAR empty", "${PORT:-8787}", { PORT: "" }, "8787"],
    ["${VAR:-} (empty default) with VAR unset", "key=${KEY:-}", {}, "key="],
    ["${VAR} with VAR empty: empty, not an error", "[${KEY}]", { KEY: "" }, "[]"],
    ["a default containing ':-' and spaces", "${X:-a:-b c}", {}, "a:-b c"],
    ["lowercase variable names", "${home_dir}", { home_dir: "/h" }, "/h"],
    ["$VAR without braces is literal", "$HOST", { HOST: "h" }, "$HOST"],
    ["${1BAD} is not a reference", "${1BAD}", { "1BAD": "x" }, "${1BAD}"],
    ["${A-B} is not a reference", "${A-B}", { A: "x" }, "${A-B}"],
  ] as const)("%s", (_name, input, env, expected) => {
    const result = interpolateEnv({ value: input }, env);
    expect(result).toEqual({ value: { value: expected }, errors: [] });
  });

  test("a value from the environment is not expanded again", () => {
    const env = { OUTER: "${INNER}", INNER: "secret", LITERAL: "${NOT_SET}" };
    expect(interpolateEnv({ a: "${OUTER}", b: "${LITERAL}" }, env)).toEqual({ value: { a: "${INNER}", b: "${NOT_SET}" }, errors: [] });
  });

  test("a default is not expanded either", () => {
    expect(interpolateEnv({ a: "${MISSING:-$HOME}" }, { HOME: "/root" }).value).toEqual({ a: "$HOME" });
  });

  test("a missing variable is an error naming the path and the variable; the string becomes empty around it", () => {
    expect(interpolateEnv({ server: { public_url: "http://${HOST}/x" } }, {})).toEqual({
      value: { server: { public_url: "http:///x" } },
      errors: [missing("server.public_url", "HOST")],
    });
  });

  test("every missing variable of a string is reported, in order", () => {
    expect(interpolateEnv({ k: "${A}-${B}-${C:-c}" }, { B: "b" }).errors).toEqual([missing("k", "A")]);
    expect(interpolateEnv({ k: "${A}-${B}" }, {}).errors).toEqual([missing("k", "A"), missing("k", "B")]);
  });

  test("an env entry that is present but undefined counts as missing", () => {
    expect(interpolateEnv({ k: "${A}" }, { A: undefined }).errors).toEqual([missing("k", "A")]);
  });
});

describe("interpolateEnv: the tree", () => {
  test("nested arrays and objects keep their TOML path in errors", () => {
    const tree = {
      providers: [{ id: "a", api_key: "${KEY_A}" }],
      models: [
        { id: "m0", channels: [{ provider: "a", model: "x" }] },
        { id: "m1", aliases: ["ok", "${ALIAS}"], channels: [{ provider: "a", model: "${UPSTREAM}" }, { provider: "a", model: "y" }] },
      ],
    };
    const result = interpolateEnv(tree, {});
    expect(result.errors).toEqual([
      missing("providers[0].api_key", "KEY_A"),
      missing("models[1].aliases[1]", "ALIAS"),
      missing("models[1].channels[0].model", "UPSTREAM"),
    ]);
  });

  test("expands strings at every depth and keeps the shape", () => {
    const tree = { a: { b: [["${X}", 1], { c: "${X}" }] }, d: "${X:-no}" };
    expect(interpolateEnv(tree, { X: "yes" }).value).toEqual({ a: { b: [["yes", 1], { c: "yes" }] }, d: "yes" });
  });

  test("non-strings pass through untouched", () => {
    const date = new Date("2026-01-01T00:00:00Z");
    const tree = { n: 1.5, big: 10_485_760, t: true, f: false, date, none: null, list: [0, false] };
    const { value, errors } = interpolateEnv(tree, {});
    expect(errors).toEqual([]);
    expect(value).toEqual(tree);
    expect((value as { date: unknown }).date).toBe(date);
  });

  test("keys are not expanded", () => {
    expect(interpolateEnv({ headers: { "${H}": "v" } }, { H: "x-org" }).value).toEqual({ headers: { "${H}": "v" } });
  });

  test("the input tree is not modified", () => {
    const tree = { providers: [{ api_key: "${KEY}" }] };
    const copy = structuredClone(tree);
    const result = interpolateEnv(tree, { KEY: "k" });
    expect(tree).toEqual(copy);
    expect(result.value).not.toBe(tree);
  });

  test("a top-level string reports the root path", () => {
    expect(interpolateEnv("${X}", {})).toEqual({ value: "", errors: [missing("(root)", "X")] });
  });
});
