/**
 * Wallet holds and settlement (SPEC §8.2). In one process holds live in memory: a crash loses them
 * harmlessly (nothing was charged) and admission costs no commit. The balance is cached per workspace
 * and refreshed from the database after `refreshMs`, so credits made by another process (the CLI)
 * show up within that time; this process's own charges update the cache from the committed row.
 *
 * Settlements are group-committed (group-commit.ts) by a SettlementWriter (on a worker thread in the
 * gateway): `settle` queues the call; the queue goes to the writer as one batch at the end of the
 * event-loop turn, or up to `batchWindowMs` after the previous batch went, and while a
 * batch is being written the next one gathers. `settle` resolves once the batch holding the call has
 * committed. Until then the hold, set to the call's cost, stands for the charge, so the balance a
 * concurrent call sees never counts a charge twice or misses one.
 */

import type { TollgateDb } from "../db/client.ts";
import type { Clock } from "../lib/clock.ts";
import { readBalance, type SettlementInput } from "./ledger.ts";
import { expireLots, nextLotExpiryMs } from "./lots.ts";
import { InlineSettlementWriter, type BatchOutcome, type SettlementWriter } from "./settlement-writer.ts";

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
  /** null: a call that held nothing (refused before a hold), written for its record only. */
  hold: Hold | null;
  input: SettlementInput;
  written: PromiseWithResolvers<void>;
}

export interface WalletOptions {
  /**
   * At most one batch per this many ms: a commit has a fixed cost (each page it touched goes to the
   * WAL; bench/settlement.ts), so a busy gateway gathers its calls; one that was idle writes a call at once.
   */
  batchWindowMs: number;
}

export class Wallet {
  private readonly states = new Map<string, WalletState>();
  private queue: QueuedSettlement[] = [];
  private flushSoon: ReturnType<typeof setImmediate> | null = null;
  private flushLater: ReturnType<typeof setTimeout> | null = null;
  private inFlight: Promise<void> | null = null;
  private lastSentAtMs = Number.NEGATIVE_INFINITY;

  constructor(
    private readonly db: TollgateDb,
    private readonly clock: Clock,
    private readonly refreshMs: number,
    private readonly writer: SettlementWriter = new InlineSettlementWriter(db),
    private readonly options: WalletOptions = { batchWindowMs: 0 },
  ) {}

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
   * Queues the call (record + charge) for the next group commit; resolves once it is committed,
   * rejects if it could not be written. Until then one hold stands for the charge: the call's hold and
   * the extra holds a pricier candidate added (`extraHolds`, ended here) are folded into it and it is
   * set to the call's cost, whether that is less or more than they held. So the batch window keeps
   * exactly the charge out of the available balance: a concurrent call never holds what the charge
   * will take. The hold ends either way, when the batch is done.
   */
  settle(hold: Hold, input: SettlementInput, extraHolds: readonly Hold[] = []): Promise<void> {
    const state = this.states.get(hold.workspaceId);
    for (const extra of extraHolds) {
      if (extra.ended) continue;
      extra.ended = true;
      if (state) state.held -= extra.amountMicrocents;
    }
    if (!hold.ended) {
      const charge = Math.max(0, input.record.costMicrocents);
      if (state) state.held += charge - hold.amountMicrocents;
      hold.amountMicrocents = charge;
    }
    return this.enqueue(hold, input);
  }

  /** Queues a call that held nothing (refused before a hold): its record, no charge. */
  recordOnly(input: SettlementInput): Promise<void> {
    return this.enqueue(null, input);
  }

  private enqueue(hold: Hold | null, input: SettlementInput): Promise<void> {
    const written = Promise.withResolvers<void>();
    this.queue.push({ hold, input, written });
    if (!this.inFlight) this.flushSoon ??= setImmediate(() => this.flush());
    return written.promise;
  }

  /**
   * Hands every queued settlement to the writer as one batch at the end of the turn, unless a batch is
   * being written (the queue goes when it is done) or the last one went less than the batch window
   * ago (the queue goes when the window ends). With the inline writer the batch is written at once.
   */
  private flush(): void {
    this.cancelScheduledFlush();
    if (this.inFlight || this.queue.length === 0) return;
    const sinceLastMs = performance.now() - this.lastSentAtMs;
    if (sinceLastMs < this.options.batchWindowMs) {
      this.flushLater = setTimeout(() => this.flush(), this.options.batchWindowMs - sinceLastMs);
      return;
    }
    this.send();
  }

  /** Hands everything queued to the writer now, ignoring the window, unless a batch is being written. */
  private send(): void {
    if (this.inFlight || this.queue.length === 0) return;
    const batch = this.queue;
    this.queue = [];
    this.lastSentAtMs = performance.now();
    this.inFlight = this.writer
      .write(batch.map((item) => item.input))
      .then(
        (outcome) => this.finish(batch, outcome),
        (error: unknown) => this.finish(batch, null, error),
      )
      .finally(() => {
        this.inFlight = null;
        this.flush();
      });
  }

  private cancelScheduledFlush(): void {
    if (this.flushSoon) clearImmediate(this.flushSoon);
    if (this.flushLater) clearTimeout(this.flushLater);
    this.flushSoon = null;
    this.flushLater = null;
  }

  private finish(batch: QueuedSettlement[], outcome: BatchOutcome | null, error?: unknown): void {
    if (outcome) {
      for (const [workspaceId, balance] of outcome.balances) {
        const state = this.states.get(workspaceId);
        if (state) state.balance = balance;
      }
    } else {
      // The writer cannot say whether the batch committed (its thread died): the balances are read afresh
      // before the next hold, so a charge that did land is never spent twice.
      for (const item of batch) this.invalidate(item.input.record.workspaceId);
    }
    batch.forEach((item, index) => {
      if (item.hold) this.release(item.hold);
      const failure = outcome ? outcome.failures.get(index) : String(error);
      if (failure === undefined) item.written.resolve();
      else item.written.reject(new Error(failure));
    });
  }

  /**
   * Resolves once every settlement queued so far is committed (or failed): readers of records and
   * balances (the management API) wait for it, so a client that got an answer finds its record.
   */
  drained(): Promise<void> {
    if (this.queue.length === 0 && !this.inFlight) return Promise.resolve();
    const pending = this.queue.map((item) => item.written.promise);
    if (this.inFlight) pending.push(this.inFlight);
    // No reason to wait out the batch window: someone is waiting for exactly this.
    this.cancelScheduledFlush();
    this.send();
    return Promise.allSettled(pending).then(() => undefined);
  }

  /** Writes everything queued, waits for it, and releases the writer (before the database closes). */
  async close(): Promise<void> {
    this.cancelScheduledFlush();
    this.send();
    while (this.inFlight) {
      await this.inFlight;
      this.cancelScheduledFlush();
      this.send();
    }
    await this.writer.close();
  }

  /** Forgets the cached balance (a credit was made in this process). */
  invalidate(workspaceId: string): void {
    const state = this.states.get(workspaceId);
    if (state) state.fetchedAtMs = Number.NEGATIVE_INFINITY;
  }
}
