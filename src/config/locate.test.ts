import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { ConfigError } from "./compile.ts";
import { DEMO_CONFIG_TOML } from "./demo.ts";
import { loadConfig, locateConfig } from "./load.ts";

const configText = (modelId: string, database = "./tollgate.db") => `
[server]
database = "${database}"

[[providers]]
id = "mock"
kind = "mock"

[[models]]
id = "${modelId}"
context_window = 1000
max_output_tokens = 100
input_usd_per_mtok = 1
output_usd_per_mtok = 2
  [[models.channels]]
  provider = "mock"
  model = "echo"
`;

let dir: string;
let cwd: string;

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "tollgate-locate-"));
  cwd = join(dir, "work");
  mkdirSync(cwd);
});

afterEach(() => rmSync(dir, { recursive: true, force: true }));

function configErrors(run: () => unknown): readonly string[] {
  try {
    run();
  } catch (error) {
    if (error instanceof ConfigError) return error.errors;
    throw error;
  }
  throw new Error("expected a ConfigError");
}

describe("locateConfig", () => {
  test("an explicit path that does not exist is an error naming the absolute path", () => {
    const errors = configErrors(() => locateConfig({ explicitPath: "conf/missing.toml", env: {}, cwd }));
    expect(errors).toEqual([`config file not found: ${join(cwd, "conf/missing.toml")}`]);
  });

  test("an explicit path wins over $TOLLGATE_CONFIG and ./tollgate.toml", () => {
    writeFileSync(join(cwd, "tollgate.toml"), configText("local"));
    writeFileSync(join(dir, "env.toml"), configText("from-env"));
    writeFileSync(join(dir, "flag.toml"), configText("from-flag"));
    const source = locateConfig({ explicitPath: "../flag.toml", env: { TOLLGATE_CONFIG: join(dir, "env.toml") }, cwd });
    expect(source).toEqual({ path: join(dir, "flag.toml"), text: configText("from-flag") });
  });

  test("$TOLLGATE_CONFIG is used when there is no explicit path, even with ./tollgate.toml present", () => {
    writeFileSync(join(cwd, "tollgate.toml"), configText("local"));
    writeFileSync(join(dir, "env.toml"), configText("from-env"));
    const source = locateConfig({ env: { TOLLGATE_CONFIG: "../env.toml" }, cwd });
    expect(source.path).toBe(join(dir, "env.toml"));
    expect(source.text).toBe(configText("from-env"));
  });

  test("$TOLLGATE_CONFIG naming a missing file is an error, not a fallback", () => {
    writeFileSync(join(cwd, "tollgate.toml"), configText("local"));
    const errors = configErrors(() => locateConfig({ env: { TOLLGATE_CONFIG: join(dir, "gone.toml") }, cwd }));
    expect(errors).toEqual([`config file not found: ${join(dir, "gone.toml")}`]);
  });

  test("an empty $TOLLGATE_CONFIG counts as unset", () => {
    writeFileSync(join(cwd, "tollgate.toml"), configText("local"));
    expect(locateConfig({ env: { TOLLGATE_CONFIG: "" }, cwd }).path).toBe(join(cwd, "tollgate.toml"));
  });

  test("./tollgate.toml in the working directory is used", () => {
    writeFileSync(join(cwd, "tollgate.toml"), configText("local"));
    expect(locateConfig({ env: {}, cwd })).toEqual({ path: join(cwd, "tollgate.toml"), text: configText("local") });
  });

  test("with no config anywhere, the demo config applies (path null)", () => {
    writeFileSync(join(dir, "tollgate.toml"), configText("parent-dir-is-not-searched"));
    expect(locateConfig({ env: {}, cwd })).toEqual({ path: null, text: DEMO_CONFIG_TOML });
  });
});

describe("loadConfig", () => {
  test("loads the explicit file; the database resolves against the file's directory, not cwd", () => {
    const confDir = join(dir, "etc");
    mkdirSync(confDir);
    writeFileSync(join(confDir, "gw.toml"), configText("explicit", "./data/gw.db"));
    const loaded = loadConfig({ explicitPath: join(confDir, "gw.toml"), env: {}, cwd });
    expect(loaded.path).toBe(join(confDir, "gw.toml"));
    expect(loaded.config.source).toBe(join(confDir, "gw.toml"));
    expect(loaded.config.models.map((model) => model.id)).toEqual(["explicit"]);
    expect(loaded.config.server.database).toBe(join(confDir, "data/gw.db"));
  });

  test("loads $TOLLGATE_CONFIG", () => {
    writeFileSync(join(dir, "env.toml"), configText("from-env"));
    const loaded = loadConfig({ env: { TOLLGATE_CONFIG: join(dir, "env.toml") }, cwd });
    expect(loaded.path).toBe(join(dir, "env.toml"));
    expect(loaded.config.models.map((model) => model.id)).toEqual(["from-env"]);
    expect(loaded.config.server.database).toBe(join(dir, "tollgate.db"));
  });

  test("loads ./tollgate.toml", () => {
    writeFileSync(join(cwd, "tollgate.toml"), configText("local"));
    const loaded = loadConfig({ env: {}, cwd });
    expect(loaded.path).toBe(join(cwd, "tollgate.toml"));
    expect(loaded.config.models.map((model) => model.id)).toEqual(["local"]);
  });

  test("falls back to the demo: source 'demo', database ./tollgate.db in cwd", () => {
    const loaded = loadConfig({ env: {}, cwd });
    expect(loaded.path).toBeNull();
    expect(loaded.config.source).toBe("demo");
    expect(loaded.config.server.database).toBe(join(cwd, "tollgate.db"));
    expect(loaded.config.providers.some((provider) => provider.kind === "mock")).toBe(true);
  });

  test("the environment passed in is the one interpolated", () => {
    writeFileSync(join(cwd, "tollgate.toml"), configText("m", "${DB_PATH:-./default.db}"));
    expect(loadConfig({ env: {}, cwd }).config.server.database).toBe(join(cwd, "default.db"));
    expect(loadConfig({ env: { DB_PATH: "/srv/t.db" }, cwd }).config.server.database).toBe("/srv/t.db");
  });

  test("errors in a located file name that file as the TOML source", () => {
    const path = join(cwd, "tollgate.toml");
    writeFileSync(path, "[server]\nlisten = \n");
    const errors = configErrors(() => loadConfig({ env: {}, cwd }));
    expect(errors).toHaveLength(1);
    expect(errors[0]).toStartWith(`${resolve(path)}:2:10: invalid TOML: `);
  });

  test("a config path that is a directory is a config error, not a crash", () => {
    const errors = configErrors(() => locateConfig({ explicitPath: cwd, env: {}, cwd }));
    expect(errors).toEqual([`cannot read config file ${resolve(cwd)}: it is a directory`]);
  });
});
