/**
 * Applies the migrations embedded in the binary (migrations.gen.ts) through drizzle's own migrator
 * dialect, with the same sha-256 hashes as drizzle's file migrator, so `bun run` and the compiled
 * binary agree on what has been applied. Forward-only; never repairs anything at runtime.
 */

import { createHash } from "node:crypto";
import type { Database } from "bun:sqlite";
import { openDatabase, type OpenedDatabase, type TollgateDb } from "./client.ts";
import { migrationJournal, migrationSql } from "./migrations.gen.ts";

interface MigrationMeta {
  sql: string[];
  bps: boolean;
  folderMillis: number;
  hash: string;
}

export function embeddedMigrations(): MigrationMeta[] {
  return migrationJournal.entries.map((entry) => {
    const text = migrationSql[entry.tag];
    if (text === undefined) throw new Error(`migration ${entry.tag} is not embedded`);
    return {
      sql: text.split("--> statement-breakpoint"),
      bps: entry.breakpoints,
      folderMillis: entry.when,
      hash: createHash("sha256").update(text).digest("hex"),
    };
  });
}

export interface MigrationStatus {
  applied: number;
  pending: number;
}

export function migrationStatus(sqlite: Database): MigrationStatus {
  const total = migrationJournal.entries.length;
  const table = sqlite
    .query<{ name: string }, []>("SELECT name FROM sqlite_master WHERE type = 'table' AND name = '__drizzle_migrations'")
    .get();
  if (!table) return { applied: 0, pending: total };
  const last = sqlite
    .query<{ created_at: number }, []>("SELECT created_at FROM __drizzle_migrations ORDER BY created_at DESC LIMIT 1")
    .get();
  const lastMillis = last ? Number(last.created_at) : -1;
  const pending = migrationJournal.entries.filter((entry) => entry.when > lastMillis).length;
  return { applied: total - pending, pending };
}

/** Applies pending migrations; returns how many were applied. Idempotent. */
export function migrateDatabase(db: TollgateDb): number {
  const before = migrationStatus(db.$client).pending;
  if (before === 0) return 0;
  const dialect = (db as unknown as { dialect: { migrate(m: MigrationMeta[], s: unknown, c: object): void } }).dialect;
  const session = (db as unknown as { session: unknown }).session;
  dialect.migrate(embeddedMigrations(), session, {});
  return before;
}

/** Opens the database and applies pending migrations; closes it again if that fails. */
export function openMigratedDatabase(path: string): OpenedDatabase {
  const database = openDatabase(path);
  try {
    migrateDatabase(database.db);
  } catch (error) {
    database.close();
    throw error;
  }
  return database;
}
