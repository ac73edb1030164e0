/**
 * docs/benchmarks.md: one `## Title` section per benchmark, each rewritten in place by its own bench
 * with `--write`; the file and its machine header are created by whichever bench writes first.
 */

import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { describeMachine } from "./machine.ts";

export const BENCHMARKS_DOC = join(import.meta.dir, "..", "..", "docs", "benchmarks.md");

function header(command: string): string {
  const machine = describeMachine();
  return [
    "# Benchmarks",
    "",
    "Figures measured with the scripts in `bench/`; every section is rewritten by its own script, and",
    "`bun run bench` runs them all. They are from one machine and one run: compare them with each other,",
    "and re-measure on your hardware before relying on them.",
    "",
    `- Machine: ${machine.cpus} CPUs (\`nproc\`), ${machine.cpuModel}, ${machine.memoryGb} GB RAM`,
    `- Bun ${machine.bunVersion}, first written ${machine.date}`,
    `- Command: \`${command}\``,
    "",
  ].join("\n");
}

/** Replaces the `## title` section (up to the next `## ` heading) with `body`, or appends it. */
export function replaceSection(document: string, title: string, body: string): string {
  const lines = document.split("\n");
  const heading = `## ${title}`;
  const start = lines.findIndex((line) => line.trim() === heading);
  const section = [heading, "", body.trimEnd(), ""];
  if (start === -1) {
    const trimmed = document.trimEnd();
    return `${trimmed}${trimmed === "" ? "" : "\n\n"}${section.join("\n")}`;
  }
  const nextOffset = lines.slice(start + 1).findIndex((line) => line.startsWith("## "));
  const end = nextOffset === -1 ? lines.length : start + 1 + nextOffset;
  const after = lines.slice(end);
  return [...lines.slice(0, start), ...section, ...after].join("\n").replace(/\n*$/, "\n");
}

export function writeBenchSection(title: string, body: string, command: string, path: string = BENCHMARKS_DOC): void {
  const current = existsSync(path) ? readFileSync(path, "utf8") : header(command);
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, replaceSection(current, title, body));
}

/** Prints a bench's section, and with `write` puts it in docs/benchmarks.md (saying so on stderr). */
export function publishBenchSection(title: string, markdown: string, command: string, write: boolean): void {
  console.log(markdown);
  if (!write) return;
  writeBenchSection(title, markdown, command);
  console.error(`wrote the "${title}" section of docs/benchmarks.md`);
}
