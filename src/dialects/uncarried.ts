/**
 * Naming what a request decoder could not carry across dialects (SPEC §4, `x-tollgate-dropped-fields`):
 * a field counts as present unless it is absent, null, false or an empty array; a nested one is named
 * by its dotted path, `[]` for array elements.
 */

export const known = (...fields: string[]): ReadonlySet<string> => new Set(fields);

/** Absent, null, false and [] carry nothing worth naming (false is every optional flag's default). */
export function hasValue(value: unknown): boolean {
  return value !== undefined && value !== null && value !== false && !(Array.isArray(value) && value.length === 0);
}

export function extraFields(object: object, carried: ReadonlySet<string>): string[] {
  return Object.entries(object).flatMap(([key, value]) => (!carried.has(key) && hasValue(value) ? [key] : []));
}

/** Adds `path.key` for every field of `object` outside `carried` that holds a value. */
export function listExtraFields(object: object, carried: ReadonlySet<string>, path: string, uncarried: Set<string>): void {
  for (const key of extraFields(object, carried)) uncarried.add(path === "" ? key : `${path}.${key}`);
}
