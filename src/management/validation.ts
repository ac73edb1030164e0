/**
 * Strict request-body checks for the management and admin APIs: closed TypeBox objects (an unknown
 * field is a 400), compiled once, whose first failure becomes a 400 `invalid_request` that names the
 * field in one plain sentence (OpenAI's `param` carries it too).
 */

import type { Static, TSchema } from "@sinclair/typebox";
import { ValueErrorType, type ValueError } from "@sinclair/typebox/compiler";
import { GatewayError } from "../errors.ts";
import { compileOnFirstUse, type SchemaCheck } from "../lib/lazy-check.ts";

/** A body schema's check, compiled on its first use. */
export function compileBody<T extends TSchema>(schema: T): SchemaCheck<T> {
  return compileOnFirstUse(schema);
}

/** JSON text → the body the schema describes, or a GatewayError naming what is wrong. */
export function parseBody<T extends TSchema>(check: SchemaCheck<T>, text: string): Static<T> {
  let value: unknown;
  try {
    value = text.trim() === "" ? {} : JSON.parse(text);
  } catch {
    throw new GatewayError("invalid_request", "The request body is not valid JSON.");
  }
  if (value === null || typeof value !== "object" || Array.isArray(value))
    throw new GatewayError("invalid_request", "The request body must be a JSON object.");
  if (check.Check(value)) return value;
  const first = check.Errors(value).First();
  if (!first) throw new GatewayError("invalid_request", "The request body is invalid.");
  const field = fieldName(first.path);
  return invalid(describe(first, field), field);
}

function invalid(message: string, field: string): never {
  throw new GatewayError("invalid_request", `Invalid request: ${message}.`, field ? { param: field } : {});
}

/** `/a/0/b` → `a[0].b`. */
function fieldName(pointer: string): string {
  return pointer
    .split("/")
    .slice(1)
    .map((part) => part.replace(/~1/g, "/").replace(/~0/g, "~"))
    .map((part, index) => (/^\d+$/.test(part) ? `[${part}]` : index === 0 ? part : `.${part}`))
    .join("");
}

function describe(error: ValueError, field: string): string {
  const name = `'${field}'`;
  switch (error.type) {
    case ValueErrorType.ObjectAdditionalProperties:
      return `${name} is not a known field`;
    case ValueErrorType.ObjectRequiredProperty:
      return `${name} is required`;
    case ValueErrorType.StringMinLength:
      return error.schema.minLength === 1 ? `${name} must not be empty` : `${name} must be at least ${error.schema.minLength} characters`;
    case ValueErrorType.StringMaxLength:
      return `${name} must be at most ${error.schema.maxLength} characters`;
    case ValueErrorType.Union:
    case ValueErrorType.Literal:
    case ValueErrorType.String:
    case ValueErrorType.Number:
    case ValueErrorType.Integer:
    case ValueErrorType.Boolean:
    case ValueErrorType.Null:
    case ValueErrorType.NumberMinimum:
    case ValueErrorType.NumberExclusiveMinimum:
    case ValueErrorType.NumberMaximum:
      return `${name} must be ${expected(error.schema)}`;
    default:
      return `${name}: ${error.message.charAt(0).toLowerCase()}${error.message.slice(1)}`;
  }
}

/** What a schema accepts, in words: `a number ≥ 0 or null`, `"live" or "mgmt"`. */
function expected(schema: TSchema): string {
  if (Array.isArray(schema.anyOf)) return (schema.anyOf as TSchema[]).map(expected).join(" or ");
  if (schema.const !== undefined) return JSON.stringify(schema.const);
  switch (schema.type) {
    case "string":
      return "a string";
    case "boolean":
      return "true or false";
    case "null":
      return "null";
    case "integer":
    case "number": {
      const bounds: string[] = [];
      if (typeof schema.minimum === "number") bounds.push(`≥ ${schema.minimum}`);
      if (typeof schema.exclusiveMinimum === "number") bounds.push(`> ${schema.exclusiveMinimum}`);
      if (typeof schema.maximum === "number") bounds.push(`≤ ${schema.maximum}`);
      return `${schema.type === "integer" ? "an integer" : "a number"}${bounds.length > 0 ? ` ${bounds.join(" and ")}` : ""}`;
    }
    default:
      return "a valid value";
  }
}
