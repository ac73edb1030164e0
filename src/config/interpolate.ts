/**
 * `${VAR}` / `${VAR:-default}` expansion over the parsed TOML tree. Each string is expanded once (a
 * value from the environment is not expanded again); a missing variable without a default is an error
 * naming the TOML path.
 */

import { formatConfigPath } from "./path.ts";

const REFERENCE = /\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}/g;

export interface InterpolationResult {
  value: unknown;
  errors: string[];
}

export function interpolateEnv(tree: unknown, env: Record<string, string | undefined>): InterpolationResult {
  const errors: string[] = [];
  const walk = (node: unknown, path: Array<string | number>): unknown => {
    if (typeof node === "string") {
      return node.replace(REFERENCE, (_match, name: string, fallback: string | undefined) => {
        const value = env[name];
        if (value !== undefined && value !== "") return value;
        if (fallback !== undefined) return fallback;
        if (value === "") return "";
        errors.push(`${formatConfigPath(path)}: environment variable ${name} is not set (write \${${name}:-default} to allow that)`);
        return "";
      });
    }
    if (Array.isArray(node)) return node.map((item, index) => walk(item, [...path, index]));
    if (node !== null && typeof node === "object" && !(node instanceof Date)) {
      const out: Record<string, unknown> = {};
      for (const [key, child] of Object.entries(node)) out[key] = walk(child, [...path, key]);
      return out;
    }
    return node;
  };
  return { value: walk(tree, []), errors };
}
