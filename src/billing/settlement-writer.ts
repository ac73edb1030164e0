/**
 * Where settlements are written: one interface, two writers. `InlineSettlementWriter` writes on the
 * calling thread (in-memory databases, unit tests); `SettlementThread` (settlement-thread.ts) hands
 * each batch to a worker thread with its own connection, so SQLite's commit and WAL checkpoint work stay
 * off the event loop. Both write a batch with `writeSettlementBatch`.
 */

import type { TollgateDb } from "../db/client.ts";
import { SettlementBatchWriter } from "./group-commit.ts";
import { recordCall, type SettlementInput } from "./ledger.ts";
import { expireWorkspaceLotsInTx } from "./lots.ts";
import { messageOf } from "../lib/log.ts";

/** What became of a batch: each charged workspace's balance after it, and the inputs that failed. */
export interface BatchOutcome {
  balances: Map<string, number>;
  /** Index into the batch → why that settlement could not be written (the others were). */
  failures: Map<number, string>;
}

export interface SettlementWriter {
  /** Writes the settlements in order; resolves once they are committed. */
  write(inputs: readonly SettlementInput[]): Promise<BatchOutcome>;
  /** Resolves once every batch handed over is done and the writer's resources are released. */
  close(): Promise<void>;
}

/**
 * One transaction for the whole batch; if any settlement in it cannot be written (nothing of the batch
 * was), each is written alone so one bad settlement does not sink the others.
 */
export function writeSettlementBatch(db: TollgateDb, writer: SettlementBatchWriter, inputs: readonly SettlementInput[]): BatchOutcome {
  try {
    return { balances: writer.write(inputs), failures: new Map() };
  } catch {
    const outcome: BatchOutcome = { balances: new Map(), failures: new Map() };
    inputs.forEach((input, index) => {
      try {
        const balance = writeSettlementAlone(db, input);
        if (balance !== null) outcome.balances.set(input.record.workspaceId, balance);
      } catch (error) {
        outcome.failures.set(index, messageOf(error));
      }
    });
    return outcome;
  }
}

/** One settlement in its own transaction; returns the balance after its charge (null: nothing charged). */
function writeSettlementAlone(db: TollgateDb, input: SettlementInput): number | null {
  // A lot that expired while the call ran leaves through its expiry entry first, in the same
  // transaction (recordCall's own becomes a savepoint): the charge consumes only unexpired lots, and
  // the lots must keep holding exactly the balance.
  return db.transaction(
    (tx) => {
      if (input.record.costMicrocents > 0) expireWorkspaceLotsInTx(tx, input.record.workspaceId, input.nowMs);
      return recordCall(db, input);
    },
    { behavior: "immediate" },
  );
}

/** Writes on the calling thread, synchronously; the promise is already settled when returned. */
export class InlineSettlementWriter implements SettlementWriter {
  private readonly batches: SettlementBatchWriter;

  constructor(private readonly db: TollgateDb) {
    this.batches = new SettlementBatchWriter(db);
  }

  write(inputs: readonly SettlementInput[]): Promise<BatchOutcome> {
    return Promise.resolve(this.writeNow(inputs));
  }

  writeNow(inputs: readonly SettlementInput[]): BatchOutcome {
    return writeSettlementBatch(this.db, this.batches, inputs);
  }

  close(): Promise<void> {
    return Promise.resolve();
  }
}
