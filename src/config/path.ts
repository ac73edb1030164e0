/** TOML paths in error messages: `providers[2].kind`. */

export function formatConfigPath(path: ReadonlyArray<string | number>): string {
  let out = "";
  for (const part of path) {
    if (typeof part === "number") out += `[${part}]`;
    else out += out === "" ? part : `.${part}`;
  }
  return out === "" ? "(root)" : out;
}

/** TypeBox's JSON pointer (`/providers/2/kind`) → `providers[2].kind`. */
export function pointerToConfigPath(pointer: string): string {
  const parts = pointer
    .split("/")
    .slice(1)
    .map((part) => part.replace(/~1/g, "/").replace(/~0/g, "~"))
    .map((part) => (/^\d+$/.test(part) ? Number(part) : part));
  return formatConfigPath(parts);
}
