/**
 * TypeBox checks compiled on first use instead of at import: the gateway has ~40 schemas, and compiling
 * them all while modules load cost 30–60 ms of cold start for checks a given process may never run.
 */

import type { Static, TSchema } from "@sinclair/typebox";
import { TypeCompiler, type TypeCheck } from "@sinclair/typebox/compiler";
import type { ValueErrorIterator } from "@sinclair/typebox/errors";

/** What callers need of a compiled check (TypeBox's TypeCheck satisfies it too). */
export interface SchemaCheck<T extends TSchema> {
  Check(value: unknown): value is Static<T>;
  Errors(value: unknown): ValueErrorIterator;
}

class LazyCheck<T extends TSchema> implements SchemaCheck<T> {
  private compiled: TypeCheck<T> | null = null;

  constructor(readonly schema: T) {}

  private get check(): TypeCheck<T> {
    this.compiled ??= TypeCompiler.Compile(this.schema);
    return this.compiled;
  }

  Check(value: unknown): value is Static<T> {
    return this.check.Check(value);
  }

  Errors(value: unknown): ValueErrorIterator {
    return this.check.Errors(value);
  }
}

export function compileOnFirstUse<T extends TSchema>(schema: T): SchemaCheck<T> {
  return new LazyCheck(schema);
}
