/**
 * Group commit of settlements: the calls of one batch (those ending within ~10 ms, wallet.ts) are written
 * in ONE immediate transaction, each exactly as `recordCall` would write it alone (its own request record,
 * its own charge entry with its own cost and running balance), while each workspace's balance, lifetime
 * spend and lot consumption move once, by the batch's sum (soonest-expiring first, as the calls one by
 * one would have taken them). The batch commits whole or not at all, so a crash loses no committed
 * entry and leaves no half-written call (SPEC §8.1, §8.5).
 *
 * Why (bench/billing.ts, `--cpu-prof-dir`): written one by one, a call's settlement cost ~0.7 ms of CPU,
 * mostly drizzle building and SQLite preparing ~8 statements, then the commit's WAL writes. Here every
 * statement is prepared once (from the drizzle schema), and a batch's commit writes each shared page once.
 */

import { and, asc, Column, eq, getTableColumns, getTableName, gt, is, lte, sql, SQL } from "drizzle-orm";
import type { SQLiteTable } from "drizzle-orm/sqlite-core";
import type { SQLQueryBindings } from "bun:sqlite";
import type { TollgateDb } from "../db/client.ts";
import { creditLots, ledgerEntries, requests, workspaces } from "../db/schema.ts";
import { newId } from "../lib/ids.ts";
import type { SettlementInput } from "./ledger.ts";
import { expireWorkspaceLotsInTx } from "./lots.ts";

/**
 * An INSERT of every column of `table`, prepared once; values go through each column's own driver
 * mapping (booleans → 0/1), and a missing value takes the column's literal default.
 */
function preparedInsert<T extends SQLiteTable>(db: TollgateDb, table: T): (row: T["$inferInsert"]) => void {
  const columns = Object.entries(getTableColumns(table));
  for (const [key, column] of columns) {
    if (column.defaultFn || column.onUpdateFn || is(column.default, SQL)) throw new Error(`${getTableName(table)}.${key}: only literal defaults can be prepared`);
  }
  const names = columns.map(([, column]) => `"${column.name}"`).join(", ");
  const statement = db.$client.prepare(`insert into "${getTableName(table)}" (${names}) values (${columns.map(() => "?").join(", ")})`);
  const keys = columns.map(([key]) => key);
  const defaults = columns.map(([, column]): unknown => column.default);
  // Columns with drizzle's identity mapping bind as they are; the others (booleans → 0/1) go through theirs.
  const mappers = columns.map(([, column]) =>
    column.mapToDriverValue === Column.prototype.mapToDriverValue ? null : (value: unknown) => column.mapToDriverValue(value) as SQLQueryBindings,
  );
  const values: SQLQueryBindings[] = new Array<SQLQueryBindings>(columns.length);
  return (row) => {
    const fields: Record<string, unknown> = row;
    for (let index = 0; index < keys.length; index++) {
      const given = fields[keys[index] as string];
      const value = given === undefined ? defaults[index] : given;
      const mapper = mappers[index];
      values[index] = value === undefined || value === null ? null : mapper ? mapper(value) : (value as SQLQueryBindings);
    }
    statement.run(...values);
  };
}

/**
 * The page cache of the settlement thread's connection. Its writes append: what it reads again is the
 * right-hand edge of each table's and index's B-tree (a few dozen pages), so SQLite's default 2 MB
 * would mostly keep pages it never reads again, resident for the process's life. bench/settlement.ts
 * writes through the same size.
 */
export const SETTLEMENT_PAGE_CACHE_KIB = 512;

interface WorkspaceGroup {
  /** The latest settlement time in the batch: lots due by then expire before the charges. */
  nowMs: number;
  charges: SettlementInput[];
  totalMicrocents: number;
}

/** The statements of a batch, prepared once per database (drizzle's builder costs ~0.1 ms a statement). */
function prepareStatements(db: TollgateDb) {
  const workspaceId = sql.placeholder("workspaceId");
  const nowMs = sql.placeholder("nowMs");
  return {
    insertRequest: preparedInsert(db, requests),
    insertEntry: preparedInsert(db, ledgerEntries),
    anyDueLot: db
      .select({ id: creditLots.id })
      .from(creditLots)
      .where(and(eq(creditLots.workspaceId, workspaceId), lte(creditLots.expiresAt, nowMs), gt(creditLots.remainingMicrocents, 0)))
      .limit(1)
      .prepare(),
    liveLots: db
      .select({ id: creditLots.id, remaining: creditLots.remainingMicrocents })
      .from(creditLots)
      .where(and(eq(creditLots.workspaceId, workspaceId), gt(creditLots.remainingMicrocents, 0), gt(creditLots.expiresAt, nowMs)))
      .orderBy(asc(creditLots.expiresAt), asc(creditLots.id))
      .prepare(),
    setLotRemaining: db
      .update(creditLots)
      .set({ remainingMicrocents: sql`${sql.placeholder("remaining")}` })
      .where(eq(creditLots.id, sql.placeholder("lotId")))
      .prepare(),
    charge: db
      .update(workspaces)
      .set({
        balanceMicrocents: sql`${workspaces.balanceMicrocents} - ${sql.placeholder("amount")}`,
        lifetimeSpendMicrocents: sql`${workspaces.lifetimeSpendMicrocents} + ${sql.placeholder("amount")}`,
      })
      .where(eq(workspaces.id, workspaceId))
      .returning({ balance: workspaces.balanceMicrocents })
      .prepare(),
  };
}

export class SettlementBatchWriter {
  private statements: ReturnType<typeof prepareStatements> | null = null;

  constructor(private readonly db: TollgateDb) {}

  /**
   * Writes the settlements in one transaction, in order; returns the balance after, per workspace
   * charged. Throws (and writes nothing) if any of them cannot be written.
   */
  write(inputs: readonly SettlementInput[]): Map<string, number> {
    this.statements ??= prepareStatements(this.db);
    const statements = this.statements;
    return this.db.transaction(
      (tx) => {
        const groups = new Map<string, WorkspaceGroup>();
        for (const input of inputs) {
          const workspaceId = input.record.workspaceId;
          let group = groups.get(workspaceId);
          if (!group) {
            group = { nowMs: input.nowMs, charges: [], totalMicrocents: 0 };
            groups.set(workspaceId, group);
          }
          group.nowMs = Math.max(group.nowMs, input.nowMs);
          const cost = input.record.costMicrocents;
          if (cost > 0) {
            group.charges.push(input);
            group.totalMicrocents += cost;
          }
        }
        // A lot that expired while the calls ran leaves through its expiry entry first: the charges
        // consume only unexpired lots, and the lots keep holding exactly the balance.
        for (const [workspaceId, group] of groups) {
          if (statements.anyDueLot.get({ workspaceId, nowMs: group.nowMs })) expireWorkspaceLotsInTx(tx, workspaceId, group.nowMs);
        }
        for (const input of inputs) statements.insertRequest(input.record);
        const balances = new Map<string, number>();
        for (const [workspaceId, group] of groups) {
          if (group.totalMicrocents === 0) continue;
          // Soonest-expiring first, as ledger.ts consumeLots: taking the sum equals taking each charge in turn.
          let left = group.totalMicrocents;
          for (const lot of statements.liveLots.all({ workspaceId, nowMs: group.nowMs })) {
            if (left === 0) break;
            const take = Math.min(lot.remaining, left);
            statements.setLotRemaining.run({ lotId: lot.id, remaining: lot.remaining - take });
            left -= take;
          }
          const row = statements.charge.get({ workspaceId, amount: group.totalMicrocents });
          if (!row) throw new Error(`workspace ${workspaceId} does not exist`);
          // Each entry carries the running balance after it, as if the charges had been written one by one.
          let balance = row.balance + group.totalMicrocents;
          for (const input of group.charges) {
            const cost = input.record.costMicrocents;
            balance -= cost;
            statements.insertEntry({
              id: newId("le"),
              workspaceId,
              kind: "charge",
              amountMicrocents: -cost,
              balanceAfterMicrocents: balance,
              lotId: null,
              requestId: input.record.requestId,
              idempotencyKey: `charge:${input.record.requestId}`,
              note: null,
              createdAt: input.nowMs,
            });
          }
          balances.set(workspaceId, balance);
        }
        return balances;
      },
      { behavior: "immediate" },
    );
  }
}
