/**
 * The house rules of STYLE.md, checked by scanning imports: the layers point one way, dialects and
 * providers meet only in canonical/ and gateway/, and only the HTTP edge imports elysia.
 */

import { describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join, relative, resolve, dirname } from "node:path";

const SRC = join(import.meta.dir, "../src");
const files = [...new Bun.Glob("**/*.ts").scanSync(SRC)].filter((file) => !file.endsWith(".test.ts"));

interface Import {
  from: string;
  to: string;
}

const imports: Import[] = files.flatMap((file) => {
  const text = readFileSync(join(SRC, file), "utf8");
  return [...text.matchAll(/^(?:import|export)\s[^;]*?from\s+"([^"]+)"/gm)].map((match) => {
    const spec = match[1] as string;
    const to = spec.startsWith(".") ? relative(SRC, resolve(dirname(join(SRC, file)), spec)) : `pkg:${spec}`;
    return { from: file, to };
  });
});

const under = (path: string, ...folders: string[]) => folders.some((folder) => path === folder || path.startsWith(`${folder}/`));
const violations = (rule: (entry: Import) => boolean) => imports.filter(rule).map((entry) => `${entry.from} → ${entry.to}`);

describe("import direction", () => {
  test("canonical/ imports nothing from the rest of src", () => {
    expect(violations((entry) => under(entry.from, "canonical") && !entry.to.startsWith("pkg:") && !under(entry.to, "canonical"))).toEqual([]);
  });

  test("dialects and providers never import each other", () => {
    expect(violations((entry) => (under(entry.from, "dialects") && under(entry.to, "providers")) || (under(entry.from, "providers") && under(entry.to, "dialects")))).toEqual([]);
  });

  test("services below the HTTP edge never import it (or the CLI)", () => {
    const lower = ["gateway", "routing", "providers", "billing", "limits", "keys", "canonical", "db", "lib", "sse", "config"];
    const upper = ["http", "dialects", "management", "admin", "cli", "app.ts", "main.ts"];
    expect(violations((entry) => under(entry.from, ...lower) && under(entry.to, ...upper))).toEqual([]);
  });

  test("only the HTTP edge imports elysia", () => {
    const edge = (file: string) => under(file, "http", "admin") || file === "app.ts" || /^dialects\/(?:[^/]+\/routes|models)\.ts$/.test(file) || /^management\/(?:[^/]+-)?routes\.ts$/.test(file);
    expect(violations((entry) => entry.to === "pkg:elysia" && !edge(entry.from))).toEqual([]);
  });

  test("no grab-bag modules", () => {
    expect(files.filter((file) => /(^|\/)(utils|helpers|misc|handler-utils)\.ts$/.test(file))).toEqual([]);
  });

  test("the scan sees the codebase", () => {
    expect(files.length).toBeGreaterThan(50);
    expect(imports.length).toBeGreaterThan(200);
  });
});
