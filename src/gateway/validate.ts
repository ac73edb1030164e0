/** Turns a compiled TypeBox check's first failure into a 400 that names the field. */

import type { TSchema } from "@sinclair/typebox";
import { GatewayError } from "../errors.ts";
import type { SchemaCheck } from "../lib/lazy-check.ts";

function fieldName(pointer: string): string {
  return pointer
    .split("/")
    .slice(1)
    .map((part, index) => (/^\d+$/.test(part) ? `[${part}]` : index === 0 ? part : `.${part}`))
    .join("");
}

export function assertValid<T extends TSchema>(check: SchemaCheck<T>, value: unknown): asserts value is import("@sinclair/typebox").Static<T> {
  if (check.Check(value)) return;
  const first = check.Errors(value).First();
  if (!first) throw new GatewayError("invalid_request", "The request body is invalid.");
  const field = fieldName(first.path) || "body";
  throw new GatewayError("invalid_request", `Invalid request: ${field}: ${first.message.toLowerCase()}`, { param: field });
}

/** Parses a JSON body: 400 naming the problem when it is not a JSON object. */
export function parseJsonBody(text: string): Record<string, unknown> {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new GatewayError("invalid_request", "The request body is not valid JSON.");
  }
  if (value === null || typeof value !== "object" || Array.isArray(value))
    throw new GatewayError("invalid_request", "The request body must be a JSON object.");
  return value as Record<string, unknown>;
}
