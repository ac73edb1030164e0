/** Opens the SQLite database with the pragmas Tollgate relies on, and wraps it in drizzle. */

import { Database } from "bun:sqlite";
import { mkdirSync } from "node:fs";
import { dirname } from "node:path";
import { drizzle, type BunSQLiteDatabase } from "drizzle-orm/bun-sqlite";
import * as schema from "./schema.ts";
import { messageOf } from "../lib/log.ts";

export type TollgateDb = BunSQLiteDatabase<typeof schema> & { $client: Database };

export interface OpenedDatabase {
  db: TollgateDb;
  sqlite: Database;
  path: string;
  close(): void;
}

export class DatabaseOpenError extends Error {
  constructor(path: string, reason: string) {
    super(`cannot open database ${path}: ${reason}`);
    this.name = "DatabaseOpenError";
  }
}

export interface OpenOptions {
  /** SQLite's page cache for this connection, KiB (SQLite's default: 2,000). */
  pageCacheKiB?: number;
}

export function openDatabase(path: string, options: OpenOptions = {}): OpenedDatabase {
  let sqlite: Database;
  try {
    if (path !== ":memory:") mkdirSync(dirname(path), { recursive: true });
    sqlite = new Database(path, { create: true, strict: true });
    // WAL: readers never block the writer; NORMAL is durable across process crashes in WAL mode.
    sqlite.run("PRAGMA journal_mode = WAL");
    sqlite.run("PRAGMA busy_timeout = 5000");
    sqlite.run("PRAGMA foreign_keys = ON");
    sqlite.run("PRAGMA synchronous = NORMAL");
    // A WAL that grew under load is cut back to this size when it restarts, instead of keeping its peak.
    sqlite.run("PRAGMA journal_size_limit = 67108864");
    if (options.pageCacheKiB !== undefined) sqlite.run(`PRAGMA cache_size = -${Math.max(1, Math.floor(options.pageCacheKiB))}`);
    // Probe that the file is writable now, not at the first money write.
    sqlite.run("BEGIN IMMEDIATE");
    sqlite.run("ROLLBACK");
  } catch (error) {
    throw new DatabaseOpenError(path, messageOf(error));
  }
  const db = drizzle({ client: sqlite, schema }) as TollgateDb;
  let closed = false;
  return {
    db,
    sqlite,
    path,
    close() {
      if (closed) return;
      closed = true;
      sqlite.close();
    },
  };
}
