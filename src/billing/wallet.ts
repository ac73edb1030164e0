/**
 * Wallet holds and settlement (SPEC §8.2). In one process holds live in memory: a crash loses them
 * harmlessly (nothing was charged) and admission costs no commit. The balance is cached per workspace
 * and refreshed from the database after `refreshMs`, so credits made by another process (the CLI)
 * show up within that time; this process's own charges update the cache from the committed row.
 *
 * Settlements are group-committed (group-commit.ts): `settle` queues the call and resolves once the
 * transaction holding it has committed, at the end of the current event-loop turn. The hold stays
 * until then, so the balance a concurrent call sees never counts a charge twice or misses one.
 */

import type { TollgateDb } from "../db/client.ts";
import type { Clock } from "../lib/clock.ts";
import { SettlementBatchWriter } from "./group-commit.ts";
import { readBalance, recordCall, type SettlementInput } from "./ledger.ts";
import { expireLots, expireWorkspaceLotsInTx, nextLotExpiryMs } from "./lots.ts";

interface WalletState {
  balance: number;
  held: number;
  fetchedAtMs: number;
  /** When the next lot holding credit expires: the cached balance is stale from then on. */
  nextExpiryMs: number;
}

export interface Hold {
  workspaceId: string;
  amountMicrocents: number;
  /** Set once settled or released: a hold ends exactly once. */
  ended: boolean;
}

export type HoldOutcome = { ok: true; hold: Hold } | { ok: false; availableMicrocents: number };

interface QueuedSettlement {
  hold: Hold;
  input: SettlementInput;
  written: PromiseWithResolvers<void>;
}

export class Wallet {
  private readonly states = new Map<string, WalletState>();
  private readonly batches: SettlementBatchWriter;
  private queue: QueuedSettlement[] = [];
  private flushScheduled: ReturnType<typeof setImmediate> | null = null;

  constructor(
    private readonly db: TollgateDb,
    private readonly clock: Clock,
    private readonly refreshMs: number,
  ) {
    this.batches = new SettlementBatchWriter(db);
  }

  private state(workspaceId: string): WalletState {
    const now = this.clock.now();
    let state = this.states.get(workspaceId);
    if (!state || now - state.fetchedAtMs >= this.refreshMs || now >= state.nextExpiryMs) {
      // Lazy expiry (SPEC §8.4): expired remainders leave through the ledger before the balance is read.
      expireLots(this.db, workspaceId, now);
      const balance = readBalance(this.db, workspaceId) ?? 0;
      const nextExpiryMs = nextLotExpiryMs(this.db, workspaceId, now) ?? Number.POSITIVE_INFINITY;
      state = { balance, held: state?.held ?? 0, fetchedAtMs: now, nextExpiryMs };
      this.states.set(workspaceId, state);
    }
    return state;
  }

  /** What this process currently holds for the workspace's calls in flight. */
  heldMicrocents(workspaceId: string): number {
    return this.states.get(workspaceId)?.held ?? 0;
  }

  availableMicrocents(workspaceId: string): number {
    const state = this.state(workspaceId);
    return state.balance - state.held;
  }

  /** Holds `amount` if the available balance covers it and is at least `minimum`. */
  tryHold(workspaceId: string, amountMicrocents: number, minimumMicrocents: number): HoldOutcome {
    const state = this.state(workspaceId);
    const available = state.balance - state.held;
    if (available < minimumMicrocents || available < amountMicrocents) return { ok: false, availableMicrocents: available };
    state.held += amountMicrocents;
    return { ok: true, hold: { workspaceId, amountMicrocents, ended: false } };
  }

  release(hold: Hold): void {
    if (hold.ended) return;
    hold.ended = true;
    const state = this.states.get(hold.workspaceId);
    if (state) state.held -= hold.amountMicrocents;
  }

  /**
   * Queues the call (record + charge) for this turn's group commit; resolves once it is committed,
   * rejects if it could not be written. The hold ends either way, when the batch is done.
   */
  settle(hold: Hold, input: SettlementInput): Promise<void> {
    const written = Promise.withResolvers<void>();
    this.queue.push({ hold, input, written });
    this.flushScheduled ??= setImmediate(() => this.flush());
    return written.promise;
  }

  /** Writes every queued settlement now, in one transaction (each turn, and before the database closes). */
  flush(): void {
    if (this.flushScheduled) clearImmediate(this.flushScheduled);
    this.flushScheduled = null;
    const batch = this.queue;
    if (batch.length === 0) return;
    this.queue = [];
    let balances: Map<string, number> | null = null;
    try {
      balances = this.batches.write(batch.map((item) => item.input));
    } catch {
      // Nothing of the batch was written; one bad settlement must not sink the others: each alone.
    }
    if (balances) {
      for (const [workspaceId, balance] of balances) {
        const state = this.states.get(workspaceId);
        if (state) state.balance = balance;
      }
      for (const item of batch) {
        this.release(item.hold);
        item.written.resolve();
      }
      return;
    }
    for (const item of batch) {
      try {
        this.settleAlone(item.hold, item.input);
        item.written.resolve();
      } catch (error) {
        item.written.reject(error);
      } finally {
        this.release(item.hold);
      }
    }
  }

  /** One settlement in its own transaction (the fallback of a batch that failed). */
  private settleAlone(hold: Hold, input: SettlementInput): void {
    // A lot that expired while the call ran leaves through its expiry entry first, in the same
    // transaction (recordCall's own becomes a savepoint): the charge consumes only unexpired lots, and
    // the lots must keep holding exactly the balance.
    const balanceAfter = this.db.transaction(
      (tx) => {
        expireWorkspaceLotsInTx(tx, hold.workspaceId, input.nowMs);
        return recordCall(this.db, input);
      },
      { behavior: "immediate" },
    );
    const state = this.states.get(hold.workspaceId);
    if (state && balanceAfter !== null) state.balance = balanceAfter;
  }

  /** Writes a call that held nothing (refused before a hold): its record, no charge. */
  recordOnly(input: SettlementInput): void {
    recordCall(this.db, input);
  }

  /** Forgets the cached balance (a credit was made in this process). */
  invalidate(workspaceId: string): void {
    const state = this.states.get(workspaceId);
    if (state) state.fetchedAtMs = Number.NEGATIVE_INFINITY;
  }
}
