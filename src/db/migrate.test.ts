import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { is } from "drizzle-orm";
import { migrate as drizzleMigrate } from "drizzle-orm/bun-sqlite/migrator";
import { readMigrationFiles } from "drizzle-orm/migrator";
import { getTableConfig, SQLiteTable } from "drizzle-orm/sqlite-core";
import { renderMigrationsModule } from "../../scripts/gen-migrations.ts";
import { DatabaseOpenError, openDatabase, type OpenedDatabase } from "./client.ts";
import { embeddedMigrations, migrateDatabase, migrationStatus } from "./migrate.ts";
import * as schema from "./schema.ts";

const ROOT = resolve(import.meta.dir, "../..");
const MIGRATIONS_FOLDER = join(ROOT, "migrations");
const FILE_MIGRATIONS = readMigrationFiles({ migrationsFolder: MIGRATIONS_FOLDER });
const TABLES = (Object.values(schema) as unknown[])
  .filter((value): value is SQLiteTable => is(value, SQLiteTable))
  .map((table) => getTableConfig(table));

let dir: string;
let opened: OpenedDatabase[];

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "tollgate-db-"));
  opened = [];
});

afterEach(() => {
  for (const database of opened) database.close();
  chmodSync(dir, 0o700);
  rmSync(dir, { recursive: true, force: true });
});

function open(name = "tollgate.db"): OpenedDatabase {
  const database = openDatabase(join(dir, name));
  opened.push(database);
  return database;
}

function names(database: OpenedDatabase, type: "table" | "index"): string[] {
  return database.sqlite
    .query<{ name: string }, [string]>("SELECT name FROM sqlite_master WHERE type = ? AND name NOT LIKE 'sqlite_%' ORDER BY name")
    .all(type)
    .map((row) => row.name);
}

function schemaDump(database: OpenedDatabase): Array<{ type: string; name: string; sql: string | null }> {
  return database.sqlite.query<{ type: string; name: string; sql: string | null }, []>("SELECT type, name, sql FROM sqlite_master ORDER BY name").all();
}

function migrationRows(database: OpenedDatabase): Array<{ hash: string; created_at: number }> {
  return database.sqlite
    .query<{ hash: string; created_at: number }, []>("SELECT hash, created_at FROM __drizzle_migrations ORDER BY created_at")
    .all()
    .map((row) => ({ hash: row.hash, created_at: Number(row.created_at) }));
}

describe("migrateDatabase", () => {
  test("the schema walk sees every table of schema.ts", () => {
    expect(TABLES.map((table) => table.name).sort()).toEqual([
      "byok_keys",
      "credit_lots",
      "keys",
      "ledger_entries",
      "requests",
      "stripe_events",
      "workspaces",
    ]);
    expect(FILE_MIGRATIONS.length).toBeGreaterThan(0);
  });

  test("an empty database gets every table, column and index of schema.ts", () => {
    const database = open();
    expect(names(database, "table")).toEqual([]);
    expect(migrationStatus(database.sqlite)).toEqual({ applied: 0, pending: FILE_MIGRATIONS.length });

    expect(migrateDatabase(database.db)).toBe(FILE_MIGRATIONS.length);

    expect(names(database, "table")).toEqual([...TABLES.map((table) => table.name), "__drizzle_migrations"].sort());
    for (const table of TABLES) {
      const columns = database.sqlite
        .query<{ name: string }, []>(`PRAGMA table_info(${JSON.stringify(table.name)})`)
        .all()
        .map((row) => row.name);
      expect({ table: table.name, columns: columns.sort() }).toEqual({
        table: table.name,
        columns: table.columns.map((column) => column.name).sort(),
      });
    }
    const indexes = names(database, "index");
    for (const index of TABLES.flatMap((table) => table.indexes)) expect(indexes).toContain(index.config.name);
    expect(migrationStatus(database.sqlite)).toEqual({ applied: FILE_MIGRATIONS.length, pending: 0 });
  });

  test("migrating again applies nothing and changes nothing, data included", () => {
    const database = open();
    migrateDatabase(database.db);
    database.sqlite.run("INSERT INTO workspaces (id, name, created_at) VALUES ('ws_1', 'default', 1)");
    const before = { schema: schemaDump(database), migrations: migrationRows(database) };

    expect(migrateDatabase(database.db)).toBe(0);

    expect({ schema: schemaDump(database), migrations: migrationRows(database) }).toEqual(before);
    expect(database.sqlite.query("SELECT id, name FROM workspaces").all()).toEqual([{ id: "ws_1", name: "default" }]);
  });

  test("a migrated file is seen as up to date by a new connection", () => {
    const first = open();
    expect(migrateDatabase(first.db)).toBe(FILE_MIGRATIONS.length);
    first.close();
    const second = open();
    expect(migrationStatus(second.sqlite)).toEqual({ applied: FILE_MIGRATIONS.length, pending: 0 });
    expect(migrateDatabase(second.db)).toBe(0);
  });

  test("foreign keys of the migrated schema are enforced", () => {
    const database = open();
    migrateDatabase(database.db);
    expect(() =>
      database.sqlite.run(
        "INSERT INTO keys (id, workspace_id, name, kind, hash, prefix, created_at) VALUES ('key_1', 'ws_missing', 'k', 'live', 'h', 'p', 1)",
      ),
    ).toThrow(/FOREIGN KEY/);
  });
});

describe("embedded migrations agree with drizzle's file migrator", () => {
  test("same SQL, breakpoints, timestamps and sha-256 hashes as readMigrationFiles(migrations/)", () => {
    expect(embeddedMigrations()).toEqual(FILE_MIGRATIONS);
  });

  test("the hashes stored in __drizzle_migrations are the file migrator's", () => {
    const database = open();
    migrateDatabase(database.db);
    expect(migrationRows(database)).toEqual(FILE_MIGRATIONS.map((m) => ({ hash: m.hash, created_at: m.folderMillis })));
    for (const row of migrationRows(database)) expect(row.hash).toMatch(/^[0-9a-f]{64}$/);
  });

  test("a database migrated by drizzle's own migrate is up to date for ours", () => {
    const database = open();
    drizzleMigrate(database.db, { migrationsFolder: MIGRATIONS_FOLDER });
    const rows = migrationRows(database);
    expect(rows).toHaveLength(FILE_MIGRATIONS.length);

    expect(migrationStatus(database.sqlite)).toEqual({ applied: FILE_MIGRATIONS.length, pending: 0 });
    expect(migrateDatabase(database.db)).toBe(0);
    expect(migrationRows(database)).toEqual(rows);
  });

  test("a database migrated by ours is up to date for drizzle's migrate", () => {
    const database = open();
    migrateDatabase(database.db);
    const before = schemaDump(database);
    // Re-running an applied CREATE TABLE would throw; drizzle must see nothing to do.
    drizzleMigrate(database.db, { migrationsFolder: MIGRATIONS_FOLDER });
    expect(migrationRows(database)).toHaveLength(FILE_MIGRATIONS.length);
    expect(schemaDump(database)).toEqual(before);
  });

  test("src/db/migrations.gen.ts is in sync with migrations/meta/_journal.json", () => {
    const generated = readFileSync(join(ROOT, "src/db/migrations.gen.ts"), "utf8");
    expect(generated).toBe(renderMigrationsModule());
    const journal = JSON.parse(readFileSync(join(MIGRATIONS_FOLDER, "meta/_journal.json"), "utf8")) as { entries: Array<{ tag: string }> };
    for (const entry of journal.entries) expect(generated).toContain(`"../../migrations/${entry.tag}.sql"`);
  });
});

describe("openDatabase", () => {
  test("sets WAL, foreign keys, synchronous NORMAL and a 5 s busy timeout", () => {
    const { sqlite } = open();
    expect(sqlite.query("PRAGMA journal_mode").get()).toEqual({ journal_mode: "wal" });
    expect(sqlite.query("PRAGMA foreign_keys").get()).toEqual({ foreign_keys: 1 });
    expect(sqlite.query("PRAGMA synchronous").get()).toEqual({ synchronous: 1 });
    expect(sqlite.query("PRAGMA busy_timeout").get()).toEqual({ timeout: 5000 });
  });

  test("keeps SQLite's default page cache unless told a size, in KiB", () => {
    expect(open("default.db").sqlite.query("PRAGMA cache_size").get()).toEqual({ cache_size: -2000 });
    const small = openDatabase(join(dir, "small.db"), { pageCacheKiB: 512 });
    expect(small.sqlite.query("PRAGMA cache_size").get()).toEqual({ cache_size: -512 });
    small.close();
  });

  test("creates missing parent directories", () => {
    const database = open("a/b/c/tollgate.db");
    expect(database.path).toBe(join(dir, "a/b/c/tollgate.db"));
    expect(existsSync(join(dir, "a/b/c/tollgate.db"))).toBe(true);
  });

  test("close is idempotent", () => {
    const database = open();
    database.close();
    expect(() => database.close()).not.toThrow();
    expect(() => database.sqlite.query("SELECT 1").get()).toThrow();
  });

  test("a directory that cannot be created (a file is in the way) is a DatabaseOpenError naming the path", () => {
    writeFileSync(join(dir, "not-a-dir"), "x");
    const path = join(dir, "not-a-dir/sub/tollgate.db");
    expect(() => openDatabase(path)).toThrow(DatabaseOpenError);
    expect(() => openDatabase(path)).toThrow(`cannot open database ${path}: `);
  });

  // Root ignores directory permissions, so this case only exists for other users.
  test.skipIf(process.getuid?.() === 0)("a directory without write permission is a DatabaseOpenError", () => {
    mkdirSync(join(dir, "ro"));
    chmodSync(join(dir, "ro"), 0o500);
    expect(() => openDatabase(join(dir, "ro/tollgate.db"))).toThrow(DatabaseOpenError);
    chmodSync(join(dir, "ro"), 0o700);
  });

  test("a file that is not a SQLite database is a DatabaseOpenError", () => {
    const path = join(dir, "junk.db");
    writeFileSync(path, "not sqlite ".repeat(200));
    expect(() => openDatabase(path)).toThrow(DatabaseOpenError);
    expect(readFileSync(path, "utf8")).toBe("not sqlite ".repeat(200));
  });
});
