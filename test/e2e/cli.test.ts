/**
 * The CLI in-process: `runCli(argv, io)` with captured output, a controlled environment and a temp
 * working directory per test. Every subcommand's happy path, its bad arguments (exit 2 + usage), its
 * failures (exit 1) and `--config` handling (SPEC §1).
 */

import { Database } from "bun:sqlite";
import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { isAbsolute, join } from "node:path";
import packageJson from "../../package.json";
import { runCli } from "../../src/cli/index.ts";
import type { CliIo } from "../../src/cli/io.ts";

const ROOT = join(import.meta.dir, "..", "..");
const EXAMPLE_TOML = readFileSync(join(ROOT, "config.example.toml"), "utf8");
const MGMT_KEY = /^tg-mgmt-[A-Za-z0-9_-]{43}$/;
const LIVE_KEY = /^tg-live-[A-Za-z0-9_-]{43}$/;
const STARTER_GRANT_MICROCENTS = 500_000_000;
const DAY_MS = 86_400_000;

interface CliRun {
  code: number;
  stdout: string;
  stderr: string;
}

let dir = "";
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "tollgate-cli-"));
});
afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});

async function cli(argv: string[], env: Record<string, string | undefined> = {}): Promise<CliRun> {
  const out = { stdout: "", stderr: "" };
  const io: CliIo = { stdout: (text) => void (out.stdout += text), stderr: (text) => void (out.stderr += text), env, cwd: dir };
  const code = await runCli(argv, io);
  return { code, ...out };
}

/** Runs a command expected to succeed with --json and returns its document. */
async function cliJson<T>(argv: string[]): Promise<T> {
  const run = await cli([...argv, "--json"]);
  expect({ code: run.code, stderr: run.stderr }).toEqual({ code: 0, stderr: "" });
  return JSON.parse(run.stdout) as T;
}

function expectUsage(run: CliRun, command: string): void {
  expect(run.code).toBe(2);
  expect(run.stdout).toBe("");
  expect(run.stderr).toContain(`usage: tollgate ${command}`);
}

/** Table rows for test.each: the command line as the test's name, then the argv itself. */
function named(cases: string[][]): Array<[string, string[]]> {
  return cases.map((argv) => [argv.join(" "), argv]);
}

/** A copy of the example config at `relDir/tollgate.toml` whose database lives in `./data/gate.db`. */
function writeConfigIn(relDir: string): string {
  const folder = join(dir, relDir);
  mkdirSync(folder, { recursive: true });
  const text = EXAMPLE_TOML.replace(/^database = .*$/m, 'database = "./data/gate.db"');
  expect(text).not.toBe(EXAMPLE_TOML);
  writeFileSync(join(folder, "tollgate.toml"), text);
  return join(relDir, "tollgate.toml");
}

interface InitDocument {
  config: string;
  database: string;
  workspace: { id: string; name: string };
  management_key: string;
  inference_key: string;
}

interface WalletDocument {
  balance_microcents: number;
  held_microcents: number;
  available_microcents: number;
  balance_tokens: number | null;
  lots: Array<{ id: string; source: string; amount_microcents: number; remaining_microcents: number; created_at: string; expires_at: string; refundable_until: string | null }>;
}

describe("init", () => {
  test("without a config: writes tollgate.toml from the example, prints both keys, exit 0", async () => {
    const run = await cli(["init"]);
    expect(run.code).toBe(0);
    expect(readFileSync(join(dir, "tollgate.toml"), "utf8")).toBe(EXAMPLE_TOML);
    expect(existsSync(join(dir, "tollgate.db"))).toBe(true);
    expect(run.stderr).toContain("wrote starter config");
    const keys = run.stdout.match(/tg-(mgmt|live)-[A-Za-z0-9_-]+/g) ?? [];
    expect(keys.length).toBe(2);
    expect(keys[0]).toMatch(MGMT_KEY);
    expect(keys[1]).toMatch(LIVE_KEY);
  });

  test("--json: exactly the documented keys, absolute paths, well-formed keys", async () => {
    const doc = await cliJson<InitDocument>(["init"]);
    expect(Object.keys(doc).sort()).toEqual(["config", "database", "inference_key", "management_key", "workspace"]);
    expect(Object.keys(doc.workspace).sort()).toEqual(["id", "name"]);
    expect(isAbsolute(doc.config) && isAbsolute(doc.database)).toBe(true);
    expect(doc.config).toBe(join(dir, "tollgate.toml"));
    expect(doc.database).toBe(join(dir, "tollgate.db"));
    expect(doc.workspace.name).toBe("default");
    expect(doc.workspace.id).toMatch(/^ws_/);
    expect(doc.management_key).toMatch(MGMT_KEY);
    expect(doc.inference_key).toMatch(LIVE_KEY);
  });

  test("a second init keeps the config, reuses 'default', prints new keys and grants only once", async () => {
    const first = await cliJson<InitDocument>(["init"]);
    const edited = `${readFileSync(first.config, "utf8")}\n# operator edit\n`;
    writeFileSync(first.config, edited);
    const second = await cliJson<InitDocument>(["init"]);
    expect(readFileSync(second.config, "utf8")).toBe(edited);
    expect(second.workspace).toEqual(first.workspace);
    expect(second.management_key).not.toBe(first.management_key);
    expect(second.inference_key).not.toBe(first.inference_key);
    const wallet = await cliJson<WalletDocument>(["wallet", "show", "--workspace", "default"]);
    expect(wallet.lots.length).toBe(1);
    expect(wallet.lots[0]?.source).toBe("grant");
    expect(wallet.balance_microcents).toBe(STARTER_GRANT_MICROCENTS);
    const human = await cli(["init"]);
    expect(human.stderr).toContain("using existing config");
    expect(human.stderr).toContain("exists; issued new keys");
    expect((await cliJson<unknown[]>(["workspace", "list"])).length).toBe(1);
  });

  test("positional arguments are refused before anything is written", async () => {
    expectUsage(await cli(["init", "extra"]), "init");
    expect(existsSync(join(dir, "tollgate.toml"))).toBe(false);
  });
});

describe("migrate", () => {
  test("creates the database; a second run applies nothing", async () => {
    const first = await cli(["migrate", "--json"]);
    expect(first.code).toBe(0);
    const firstDoc = JSON.parse(first.stdout) as { database: string; applied: number };
    expect(firstDoc.database).toBe(join(dir, "tollgate.db"));
    expect(firstDoc.applied).toBeGreaterThan(0);
    expect(await cliJson<{ database: string; applied: number }>(["migrate"])).toEqual({ database: firstDoc.database, applied: 0 });
    const human = await cli(["migrate"]);
    expect(human.code).toBe(0);
    expect(human.stderr).toContain("is up to date");
  });

  test("positional arguments → exit 2", async () => {
    expectUsage(await cli(["migrate", "now"]), "migrate");
  });
});

describe("config check", () => {
  test("the built-in demo config and an init-written file are valid", async () => {
    const demo = await cli(["config", "check"]);
    expect(demo.code).toBe(0);
    expect(demo.stderr).toContain("config OK: built-in demo config (4 providers, 2 models)");
    await cli(["init"]);
    const doc = await cliJson<Record<string, unknown>>(["config", "check"]);
    expect(doc).toEqual({ ok: true, config: join(dir, "tollgate.toml"), models: 2, providers: 4 });
  });

  test("a broken config: exit 2, one stderr line per error, each naming its TOML path", async () => {
    const broken = EXAMPLE_TOML.replace(/^kind = "mock"$/m, 'kind = "bogus"')
      .replace(/^max_body_bytes = .*$/m, 'max_body_bytes = "big"\nbogus_key = 1')
      .replace(/^admin_token = .*$/m, 'admin_token = "${TG_TEST_UNSET}"');
    writeFileSync(join(dir, "tollgate.toml"), broken);
    const run = await cli(["config", "check"]);
    expect(run.code).toBe(2);
    expect(run.stdout).toBe("");
    const lines = run.stderr.trimEnd().split("\n");
    for (const line of lines) expect(line).toMatch(/^config error: [a-z_]+(\[\d+\])?(\.[a-z_]+)*: /);
    const paths = lines.map((line) => line.slice("config error: ".length, line.indexOf(": ", "config error: ".length)));
    expect(paths).toContain("server.bogus_key");
    expect(paths).toContain("server.max_body_bytes");
    expect(paths).toContain("providers[0].kind");
    expect(paths).toContain("security.admin_token");
    expect(run.stderr).toContain("TG_TEST_UNSET");
  });

  test("invalid TOML names the file, line and column", async () => {
    writeFileSync(join(dir, "bad.toml"), "[server]\nlisten = [\n");
    const run = await cli(["config", "check", "--config", "bad.toml"]);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain(`${join(dir, "bad.toml")}:3:`);
  });

  test("`config` without `check`, or another subcommand → exit 2 with usage", async () => {
    expectUsage(await cli(["config"]), "config check");
    expectUsage(await cli(["config", "validate"]), "config check");
    expectUsage(await cli(["config", "check", "extra"]), "config check");
  });
});

describe("workspace", () => {
  test("create --json → {id, name, management_key}; human output prints only the key on stdout", async () => {
    const doc = await cliJson<Record<string, string>>(["workspace", "create", "team-a"]);
    expect(Object.keys(doc).sort()).toEqual(["id", "management_key", "name"]);
    expect(doc.id).toMatch(/^ws_/);
    expect(doc.name).toBe("team-a");
    expect(doc.management_key).toMatch(MGMT_KEY);
    const human = await cli(["workspace", "create", "team.b_2"]);
    expect(human.code).toBe(0);
    expect(human.stdout.trim()).toMatch(MGMT_KEY);
  });

  test("a duplicate name → exit 1 naming it", async () => {
    expect((await cli(["workspace", "create", "dup"])).code).toBe(0);
    const again = await cli(["workspace", "create", "dup"]);
    expect(again.code).toBe(1);
    expect(again.stderr).toContain("'dup' already exists");
    expect((await cliJson<unknown[]>(["workspace", "list"])).length).toBe(1);
  });

  test.each([["-starts-with-dash"], ["has space"], ["x".repeat(65)], ["semi;colon"], ["ünïcode"]])("invalid name %p → exit 2", async (name) => {
    expectUsage(await cli(["workspace", "create", "--", name]), "workspace create");
    expect(existsSync(join(dir, "tollgate.db"))).toBe(false);
  });

  test("missing NAME, unknown subcommand, extra argument → exit 2", async () => {
    expectUsage(await cli(["workspace", "create"]), "workspace create");
    expectUsage(await cli(["workspace"]), "workspace create");
    expectUsage(await cli(["workspace", "delete", "x"]), "workspace create");
    expectUsage(await cli(["workspace", "list", "extra"]), "workspace create");
  });

  test("list --json: an array of workspace documents", async () => {
    expect(await cliJson<unknown[]>(["workspace", "list"])).toEqual([]);
    await cli(["init"]);
    await cli(["workspace", "create", "team-a"]);
    const docs = await cliJson<Array<Record<string, unknown>>>(["workspace", "list"]);
    expect(docs.map((doc) => doc.name).sort()).toEqual(["default", "team-a"]);
    for (const doc of docs) {
      expect(Object.keys(doc).sort()).toEqual(
        ["daily_cap_usd", "default_route", "id", "lifetime_spend_microcents", "monthly_cap_usd", "name", "tier", "usage_event"].sort(),
      );
      expect(doc).toMatchObject({ daily_cap_usd: null, monthly_cap_usd: null, default_route: null, usage_event: false, tier: "starter", lifetime_spend_microcents: 0 });
      expect(doc.id).toMatch(/^ws_/);
    }
  });
});

describe("key", () => {
  test("create --json → {id, name, kind, key, created_at} for both kinds", async () => {
    await cli(["workspace", "create", "w"]);
    const before = Date.now();
    const live = await cliJson<Record<string, string>>(["key", "create", "--workspace", "w", "--kind", "live", "--name", "ci bot"]);
    expect(Object.keys(live).sort()).toEqual(["created_at", "id", "key", "kind", "name"]);
    expect(live).toMatchObject({ name: "ci bot", kind: "live" });
    expect(live.id).toMatch(/^key_/);
    expect(live.key).toMatch(LIVE_KEY);
    const createdAt = Date.parse(live.created_at ?? "");
    expect(live.created_at).toBe(new Date(createdAt).toISOString());
    expect(createdAt).toBeGreaterThanOrEqual(before - 1000);
    expect(createdAt).toBeLessThanOrEqual(Date.now());
    const mgmt = await cliJson<Record<string, string>>(["key", "create", "--workspace", "w", "--kind", "mgmt"]);
    expect(mgmt.kind).toBe("mgmt");
    expect(mgmt.key).toMatch(MGMT_KEY);
    expect(mgmt.id).not.toBe(live.id);
  });

  test("missing --workspace or a bad --kind → exit 2; an unknown workspace → exit 1", async () => {
    await cli(["workspace", "create", "w"]);
    expectUsage(await cli(["key", "create", "--kind", "live"]), "key create");
    expectUsage(await cli(["key", "create", "--workspace", "w"]), "key create");
    expectUsage(await cli(["key", "create", "--workspace", "w", "--kind", "admin"]), "key create");
    expectUsage(await cli(["key", "create", "--workspace", "w", "--kind", "live", "extra"]), "key create");
    expectUsage(await cli(["key"]), "key create");
    expectUsage(await cli(["key", "rotate", "x"]), "key create");
    const unknown = await cli(["key", "create", "--workspace", "nope", "--kind", "live"]);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toContain("no workspace named 'nope'");
    expect(unknown.stdout).toBe("");
  });

  test("revoke ID → 0; again → 1; an unknown ID → 1; no ID → 2", async () => {
    await cli(["workspace", "create", "w"]);
    const key = await cliJson<{ id: string }>(["key", "create", "--workspace", "w", "--kind", "live"]);
    expect(await cliJson<unknown>(["key", "revoke", key.id])).toEqual({ id: key.id, revoked: true });
    const again = await cli(["key", "revoke", key.id]);
    expect(again.code).toBe(1);
    expect(again.stderr).toContain(`no active key with id '${key.id}'`);
    expect((await cli(["key", "revoke", "key_doesnotexist"])).code).toBe(1);
    expectUsage(await cli(["key", "revoke"]), "key create");
    const other = await cliJson<{ id: string }>(["key", "create", "--workspace", "w", "--kind", "mgmt"]);
    const human = await cli(["key", "revoke", other.id]);
    expect(human.code).toBe(0);
    expect(human.stderr).toContain(`revoked key ${other.id}`);
  });
});

describe("wallet", () => {
  test("credit $2.50, then show: balance, held, available, tokens at the cheapest input price, one grant lot", async () => {
    await cli(["workspace", "create", "w"]);
    const credit = await cliJson<{ workspace: string; lot_id: string; amount_microcents: number; balance_microcents: number }>([
      "wallet", "credit", "--workspace", "w", "--usd", "2.50", "--note", "x",
    ]);
    expect(credit).toMatchObject({ workspace: "w", amount_microcents: 250_000_000, balance_microcents: 250_000_000 });
    const wallet = await cliJson<WalletDocument>(["wallet", "show", "--workspace", "w"]);
    expect(Object.keys(wallet).sort()).toEqual(["available_microcents", "balance_microcents", "balance_tokens", "held_microcents", "lots"]);
    expect(wallet.balance_microcents).toBe(250_000_000);
    expect(wallet.held_microcents).toBe(0);
    expect(wallet.available_microcents).toBe(250_000_000);
    // The example's cheapest non-zero input price is claude-haiku-4-5's $0.25/Mtok: $2.50 buys 10 M tokens.
    expect(wallet.balance_tokens).toBe(10_000_000);
    expect(wallet.lots.length).toBe(1);
    const lot = wallet.lots[0];
    expect(lot).toMatchObject({ id: credit.lot_id, source: "grant", amount_microcents: 250_000_000, remaining_microcents: 250_000_000, refundable_until: null });
    expect(Date.parse(lot?.expires_at ?? "") - Date.parse(lot?.created_at ?? "")).toBe(365 * DAY_MS);
    const human = await cli(["wallet", "show", "--workspace", "w"]);
    expect(human.stdout).toContain("balance $2.50");
    expect(human.stdout).toContain("10000000 tokens");
  });

  test("credits add up; lots are listed soonest-expiring first", async () => {
    await cli(["workspace", "create", "w"]);
    await cli(["wallet", "credit", "--workspace", "w", "--usd", "0.00000001"]);
    await cli(["wallet", "credit", "--workspace", "w", "--usd", "12"]);
    const wallet = await cliJson<WalletDocument>(["wallet", "show", "--workspace", "w"]);
    expect(wallet.balance_microcents).toBe(1_200_000_001);
    expect(wallet.balance_tokens).toBe(48_000_000);
    expect(wallet.lots.map((lot) => lot.amount_microcents)).toEqual([1, 1_200_000_000]);
  });

  test.each([["abc"], ["-1"], ["0"], ["0.000000000"], ["1.123456789"], ["1e3"], [""]])("--usd=%p → exit 2, nothing credited", async (amount) => {
    await cli(["workspace", "create", "w"]);
    expectUsage(await cli(["wallet", "credit", "--workspace", "w", `--usd=${amount}`]), "wallet credit");
    expect((await cliJson<WalletDocument>(["wallet", "show", "--workspace", "w"])).balance_microcents).toBe(0);
  });

  test("other bad arguments → exit 2; an unknown workspace → exit 1", async () => {
    await cli(["workspace", "create", "w"]);
    expectUsage(await cli(["wallet", "credit", "--workspace", "w", "--usd", "-1"]), "wallet credit");
    expectUsage(await cli(["wallet", "credit", "--workspace", "w"]), "wallet credit");
    expectUsage(await cli(["wallet", "credit", "--usd", "1"]), "wallet credit");
    expectUsage(await cli(["wallet", "show"]), "wallet credit");
    expectUsage(await cli(["wallet", "show", "--workspace", "w", "--usd", "1"]), "wallet credit");
    expectUsage(await cli(["wallet", "drain", "--workspace", "w"]), "wallet credit");
    expectUsage(await cli(["wallet"]), "wallet credit");
    for (const argv of [["wallet", "show", "--workspace", "nope"], ["wallet", "credit", "--workspace", "nope", "--usd", "1"]]) {
      const run = await cli(argv);
      expect(run.code).toBe(1);
      expect(run.stderr).toContain("no workspace named 'nope'");
    }
  });
});

describe("ledger verify", () => {
  test("a healthy database → exit 0", async () => {
    await cli(["init"]);
    await cli(["wallet", "credit", "--workspace", "default", "--usd", "1"]);
    const run = await cli(["ledger", "verify"]);
    expect(run.code).toBe(0);
    expect(run.stderr).toContain("ledger OK: 1 workspace(s), 2 entries, 0 problem(s)");
    expect(await cliJson<unknown>(["ledger", "verify"])).toEqual({ ok: true, workspaces: 1, entries: 2, problems: [] });
  });

  test("a balance changed behind the ledger's back → exit 1 naming the mismatch", async () => {
    const init = await cliJson<InitDocument>(["init"]);
    const sqlite = new Database(init.database);
    try {
      sqlite.run("UPDATE workspaces SET balance_microcents = balance_microcents + 1");
    } finally {
      sqlite.close();
    }
    const run = await cli(["ledger", "verify"]);
    expect(run.code).toBe(1);
    expect(run.stderr).toContain(`MISMATCH ${init.workspace.id}: balance 500000001 µ¢ but its ledger sums to 500000000 µ¢`);
    expect(run.stderr).toContain("ledger FAILED");
    const json = await cli(["ledger", "verify", "--json"]);
    expect(json.code).toBe(1);
    const doc = JSON.parse(json.stdout) as { ok: boolean; problems: Array<{ workspaceId: string; problem: string }> };
    expect(doc.ok).toBe(false);
    expect(doc.problems).toEqual([{ workspaceId: init.workspace.id, problem: "balance 500000001 µ¢ but its ledger sums to 500000000 µ¢" }]);
  });

  test("`ledger` without `verify` → exit 2", async () => {
    expectUsage(await cli(["ledger"]), "ledger verify");
    expectUsage(await cli(["ledger", "repair"]), "ledger verify");
  });
});

describe("version", () => {
  test("prints the package.json version; --json → {version, commit}", async () => {
    const run = await cli(["version"]);
    expect(run.code).toBe(0);
    expect(run.stdout).toBe(`tollgate ${packageJson.version} (commit dev)\n`);
    expect(await cliJson<unknown>(["version"])).toEqual({ version: packageJson.version, commit: "dev" });
    expect((await cli(["--version"])).stdout).toBe(run.stdout);
    expectUsage(await cli(["version", "extra"]), "version");
  });
});

describe("usage", () => {
  test("no command → exit 2, usage listing every command on stderr", async () => {
    const run = await cli([]);
    expect(run.code).toBe(2);
    expect(run.stdout).toBe("");
    for (const name of ["serve", "init", "migrate", "config", "workspace", "key", "wallet", "ledger", "version"]) {
      expect(run.stderr).toMatch(new RegExp(`^  ${name} +\\S`, "m"));
    }
  });

  test("an unknown command → exit 2 naming it, with usage", async () => {
    const run = await cli(["frobnicate"]);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain("unknown command 'frobnicate'");
    expect(run.stderr).toContain("usage: tollgate <command>");
  });

  test("--help, -h, help, COMMAND --help → exit 0 with usage on stdout", async () => {
    for (const argv of [["--help"], ["-h"], ["help"]]) {
      const run = await cli(argv);
      expect(run.code).toBe(0);
      expect(run.stdout).toContain("usage: tollgate <command>");
    }
    const migrate = await cli(["migrate", "--help"]);
    expect(migrate.code).toBe(0);
    expect(migrate.stdout).toBe("usage: tollgate migrate [--config FILE] [--json]\n");
    expect(existsSync(join(dir, "tollgate.db"))).toBe(false);
  });

  test.each(
    named([
      ["serve"], ["init"], ["migrate"], ["config", "check"], ["workspace", "list"], ["key", "revoke", "key_x"],
      ["wallet", "show", "--workspace", "w"], ["ledger", "verify"], ["version"],
    ]),
  )("`%s --bogus` → exit 2 with usage, nothing written", async (_name, argv) => {
    const run = await cli([...argv, "--bogus"]);
    expectUsage(run, argv[0] ?? "");
    expect(run.stderr).toContain("--bogus");
    expect(existsSync(join(dir, "tollgate.db"))).toBe(false);
    expect(existsSync(join(dir, "tollgate.toml"))).toBe(false);
  });

  test("serve: a malformed --listen or a positional argument → exit 2 before listening", async () => {
    const listen = await cli(["serve", "--listen", "nonsense"]);
    expectUsage(listen, "serve");
    expect(listen.stderr).toContain("--listen expects HOST:PORT, got 'nonsense'");
    expectUsage(await cli(["serve", "now"]), "serve");
  });
});

describe("--config", () => {
  test("every subcommand works on a config elsewhere; the database sits beside that file", async () => {
    const config = writeConfigIn("elsewhere");
    const db = join(dir, "elsewhere", "data", "gate.db");
    const c = ["--config", config];
    expect((await cli(["migrate", ...c])).code).toBe(0);
    expect(existsSync(db)).toBe(true);
    const init = await cliJson<InitDocument>(["init", ...c]);
    expect(init.config).toBe(join(dir, config));
    expect(init.database).toBe(db);
    expect((await cliJson<{ config: string }>(["config", "check", ...c])).config).toBe(join(dir, config));
    expect((await cli(["workspace", "create", "w", ...c])).code).toBe(0);
    expect((await cliJson<unknown[]>(["workspace", "list", ...c])).length).toBe(2);
    const key = await cliJson<{ id: string }>(["key", "create", "--workspace", "w", "--kind", "live", ...c]);
    expect((await cli(["key", "revoke", key.id, ...c])).code).toBe(0);
    expect((await cli(["wallet", "credit", "--workspace", "w", "--usd", "3", ...c])).code).toBe(0);
    expect((await cliJson<WalletDocument>(["wallet", "show", "--workspace", "w", ...c])).balance_microcents).toBe(300_000_000);
    expect((await cli(["ledger", "verify", ...c])).code).toBe(0);
    expect((await cli(["version", ...c])).code).toBe(0);
    expect(existsSync(join(dir, "tollgate.db"))).toBe(false);
    expect(existsSync(join(dir, "tollgate.toml"))).toBe(false);
    // The same database: cwd's default (demo) config sees none of it.
    expect(await cliJson<unknown[]>(["workspace", "list"])).toEqual([]);
  });

  test.each([
    [0, ["migrate"]], [0, ["init"]], [0, ["workspace", "list"]], [0, ["workspace", "create", "w"]], [0, ["ledger", "verify"]],
    [1, ["key", "create", "--workspace", "w", "--kind", "live"]], [1, ["key", "revoke", "key_x"]],
    [1, ["wallet", "credit", "--workspace", "w", "--usd", "1"]], [1, ["wallet", "show", "--workspace", "w"]],
  ])("exit %p from %p: creates and migrates the database relative to the config's folder", async (code, argv) => {
    const config = writeConfigIn(join("a", "b"));
    const run = await cli([...argv, "--config", config]);
    expect(run.code).toBe(code);
    if (code === 1) expect(run.stderr).toMatch(/no (workspace named 'w'|active key with id 'key_x')/);
    expect(existsSync(join(dir, "a", "b", "data", "gate.db"))).toBe(true);
    expect(existsSync(join(dir, "tollgate.db"))).toBe(false);
  });

  test.each(
    named([
      ["serve"], ["migrate"], ["config", "check"], ["workspace", "list"], ["workspace", "create", "w"],
      ["key", "create", "--workspace", "w", "--kind", "live"], ["key", "revoke", "key_x"],
      ["wallet", "credit", "--workspace", "w", "--usd", "1"], ["wallet", "show", "--workspace", "w"], ["ledger", "verify"],
    ]),
  )("`%s --config missing/tollgate.toml` → exit 2 naming the path", async (_name, argv) => {
    const run = await cli([...argv, "--config", "missing/tollgate.toml"]);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain(`config file not found: ${join(dir, "missing", "tollgate.toml")}`);
    expect(existsSync(join(dir, "tollgate.db"))).toBe(false);
  });

  test("init --config writes a missing file there and keeps the database beside it", async () => {
    mkdirSync(join(dir, "new"));
    const doc = await cliJson<InitDocument>(["init", "--config", "new/gate.toml"]);
    expect(doc.config).toBe(join(dir, "new", "gate.toml"));
    expect(doc.database).toBe(join(dir, "new", "tollgate.db"));
    expect(readFileSync(doc.config, "utf8")).toBe(EXAMPLE_TOML);
    expect(existsSync(doc.database)).toBe(true);
  });

  test("$TOLLGATE_CONFIG applies when --config is absent; --config wins over it", async () => {
    const fromEnv = writeConfigIn("env");
    const fromFlag = writeConfigIn("flag");
    expect((await cli(["migrate"], { TOLLGATE_CONFIG: fromEnv })).code).toBe(0);
    expect(existsSync(join(dir, "env", "data", "gate.db"))).toBe(true);
    expect((await cli(["migrate", "--config", fromFlag], { TOLLGATE_CONFIG: fromEnv })).code).toBe(0);
    expect(existsSync(join(dir, "flag", "data", "gate.db"))).toBe(true);
    const missing = await cli(["migrate"], { TOLLGATE_CONFIG: "nope.toml" });
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain(join(dir, "nope.toml"));
  });
});
