/**
 * Finds and loads the config: `--config`, else $TOLLGATE_CONFIG, else ./tollgate.toml, else the built-in
 * demo. TOML (smol-toml, for exact line/column errors) → ${VAR} interpolation → TypeBox (closed objects,
 * defaults) → compile. Only this module reads the environment.
 */

import { existsSync, readFileSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { Value, type ValueError } from "@sinclair/typebox/value";
import { TomlError, parse as parseToml } from "smol-toml";
import { compileConfig, ConfigError } from "./compile.ts";
import { DEMO_CONFIG_TOML } from "./demo.ts";
import { interpolateEnv } from "./interpolate.ts";
import { pointerToConfigPath } from "./path.ts";
import { ConfigSchema, type RawConfig } from "./schema.ts";
import type { Config } from "./types.ts";

export interface ConfigSource {
  /** Absolute path of the file, or null for the built-in demo config. */
  path: string | null;
  text: string;
}

export interface LocateOptions {
  /** The `--config` argument: must exist when given. */
  explicitPath?: string | undefined;
  env: Record<string, string | undefined>;
  cwd: string;
}

/** Which config applies. An explicit path (flag or $TOLLGATE_CONFIG) that does not exist is an error. */
export function locateConfig(options: LocateOptions): ConfigSource {
  const explicit = options.explicitPath ?? (options.env.TOLLGATE_CONFIG || undefined);
  if (explicit !== undefined) {
    const path = resolve(options.cwd, explicit);
    if (!existsSync(path)) throw new ConfigError([`config file not found: ${path}`]);
    return { path, text: readConfigFile(path) };
  }
  const local = resolve(options.cwd, "tollgate.toml");
  if (existsSync(local)) return { path: local, text: readConfigFile(local) };
  return { path: null, text: DEMO_CONFIG_TOML };
}

/** A directory or an unreadable file is a config error (exit 2), not a crash. */
function readConfigFile(path: string): string {
  try {
    return readFileSync(path, "utf8");
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const reason = code === "EISDIR" ? "it is a directory" : code === "EACCES" ? "permission denied" : (error as Error).message;
    throw new ConfigError([`cannot read config file ${path}: ${reason}`]);
  }
}

function errorPath(message: string): string {
  return message.slice(0, message.indexOf(":"));
}

function describeSchemaError(error: ValueError): string {
  const path = pointerToConfigPath(error.path);
  if (error.message === "Unexpected property") return `${path}: unknown key`;
  if (error.message === "Expected required property") return `${path}: required`;
  const options = error.schema.anyOf as Array<{ const?: unknown }> | undefined;
  if (options?.every((option) => option.const !== undefined))
    return `${path}: expected one of ${options.map((option) => String(option.const)).join("|")}, got ${JSON.stringify(error.value)}`;
  return `${path}: ${error.message.charAt(0).toLowerCase()}${error.message.slice(1)}`;
}

/** Parses and compiles config text; `baseDir` anchors relative paths (the file's directory). */
export function parseConfig(
  text: string,
  options: { source: string; baseDir: string; env: Record<string, string | undefined> },
): Config {
  let tree: unknown;
  try {
    tree = parseToml(text);
  } catch (error) {
    if (error instanceof TomlError) {
      const reason = error.message.split("\n")[0]?.replace(/^Invalid TOML document:\s*/, "") ?? "invalid TOML";
      throw new ConfigError([`${options.source}:${error.line}:${error.column}: invalid TOML: ${reason}`]);
    }
    throw error;
  }
  const interpolated = interpolateEnv(tree, options.env);
  const withDefaults = Value.Default(ConfigSchema, interpolated.value);
  // One error per path: TypeBox reports a missing key as "required" and again as the wrong type, and a
  // string emptied by a missing ${VAR} again as too short; only the first message says what is wrong.
  const errors = [...interpolated.errors];
  for (const message of [...Value.Errors(ConfigSchema, withDefaults)].map(describeSchemaError)) {
    if (!errors.some((known) => errorPath(known) === errorPath(message))) errors.push(message);
  }
  if (errors.length === 0) return compileConfig(withDefaults as RawConfig, options);
  throw new ConfigError([...errors, ...semanticErrorsDespiteShape(withDefaults, options, errors)]);
}

/**
 * All errors at once: the semantic checks also run over a config whose shape is wrong, and add what
 * they find at paths the schema did not already flag. A crash of those checks on a malformed tree
 * just means there is nothing more to add.
 */
function semanticErrorsDespiteShape(tree: unknown, options: { source: string; baseDir: string }, known: string[]): string[] {
  try {
    compileConfig(tree as RawConfig, options);
    return [];
  } catch (error) {
    if (!(error instanceof ConfigError)) return [];
    const knownPaths = known.map(errorPath);
    return error.errors.filter((message) => !knownPaths.includes(errorPath(message)));
  }
}

export interface LoadedConfig {
  config: Config;
  /** Absolute path of the file, or null when the demo config applies. */
  path: string | null;
}

export function loadConfig(options: LocateOptions): LoadedConfig {
  const source = locateConfig(options);
  const config = parseConfig(source.text, {
    source: source.path ?? "demo",
    baseDir: source.path ? dirname(source.path) : options.cwd,
    env: options.env,
  });
  return { config, path: source.path };
}
