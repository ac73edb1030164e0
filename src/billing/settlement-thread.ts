/**
 * Settlements written by a worker thread (settlement-worker.ts) with its own connection to the same
 * SQLite file: the event loop only posts each batch and hears back when it has committed, so a commit's
 * WAL writes, and the checkpoint fsyncs that every ~1,000 pages bring, no longer stall other calls.
 *
 * The worker starts on the first write, so a gateway that serves no call pays nothing for it. If
 * it cannot open the database or dies, the event loop takes over with an inline writer on its own
 * connection; a batch the worker held when it died is reported failed (it may or may not have committed:
 * the charge's idempotency key keeps a retry from writing it twice, so none is attempted).
 */

import type { TollgateDb } from "../db/client.ts";
import type { SettlementInput } from "./ledger.ts";
import type { FromSettlementWorker, ToSettlementWorker } from "./settlement-protocol.ts";
import { InlineSettlementWriter, type BatchOutcome, type SettlementWriter } from "./settlement-writer.ts";
import { messageOf } from "../lib/log.ts";

/**
 * In the compiled binary `import.meta.url` is not this file's (modules are bundled into chunks under
 * /$bunfs/root/), and the worker entrypoint sits at its path under src/; scripts/build.ts defines it.
 * From source the worker is this file's neighbour.
 */
declare const TOLLGATE_SETTLEMENT_WORKER: string | undefined;
const WORKER_URL =
  typeof TOLLGATE_SETTLEMENT_WORKER === "string" ? new URL(TOLLGATE_SETTLEMENT_WORKER, import.meta.url) : new URL("./settlement-worker.ts", import.meta.url);

/** SQLite's default: a commit that brings the WAL past this many pages checkpoints it. */
const DEFAULT_AUTOCHECKPOINT_PAGES = 1000;

interface PendingBatch {
  inputs: readonly SettlementInput[];
  done: PromiseWithResolvers<BatchOutcome>;
}

export interface SettlementThreadOptions {
  /** The database file the worker opens (the event loop's connection writes there too). */
  path: string;
  /** The event loop's own connection: the fallback writer's. */
  db: TollgateDb;
  onError(message: string): void;
}

export class SettlementThread implements SettlementWriter {
  private worker: Worker | null = null;
  private opened = false;
  private fallback: InlineSettlementWriter | null = null;
  private nextId = 1;
  private readonly pending = new Map<number, PendingBatch>();
  private closed: PromiseWithResolvers<void> | null = null;

  constructor(private readonly options: SettlementThreadOptions) {}

  /** Starts the worker; on the first write, since no answer waits for a commit. */
  private start(): void {
    if (this.worker || this.fallback) return;
    try {
      const worker = new Worker(WORKER_URL, { smol: true });
      worker.onmessage = (event: MessageEvent<FromSettlementWorker>) => this.onMessage(event.data);
      worker.onerror = (event) => this.takeOver(`the settlement worker failed: ${event.message}`);
      worker.addEventListener("close", () => {
        // During close too, if batches are still out: the event loop must write them, or report them.
        if (!this.closed || this.pending.size > 0) this.takeOver("the settlement worker exited");
      });
      worker.unref();
      this.post(worker, { kind: "open", path: this.options.path });
      this.worker = worker;
    } catch (error) {
      this.takeOver(`the settlement worker could not start: ${messageOf(error)}`);
    }
  }

  write(inputs: readonly SettlementInput[]): Promise<BatchOutcome> {
    // After close (nothing should settle then, but nothing may be lost either) the event loop writes.
    if (this.closed) this.fallback ??= new InlineSettlementWriter(this.options.db);
    if (this.fallback) return Promise.resolve(this.fallback.writeNow(inputs));
    this.start();
    const worker = this.worker;
    if (!worker) return this.write(inputs); // start() fell back
    const id = this.nextId++;
    const done = Promise.withResolvers<BatchOutcome>();
    this.pending.set(id, { inputs, done });
    // An unref'd worker's answer does not keep the process alive: while a batch is out, the worker is
    // ref'd, or a process with nothing else to do (a stopping server) would exit before it is committed.
    if (this.pending.size === 1) worker.ref();
    // Messages are handled in order: a write posted before "opened" arrives waits behind "open".
    this.post(worker, { kind: "write", id, inputs: JSON.stringify(inputs) });
    return done.promise;
  }

  async close(): Promise<void> {
    if (this.closed) return this.closed.promise;
    this.closed = Promise.withResolvers<void>();
    await Promise.allSettled([...this.pending.values()].map((batch) => batch.done.promise));
    const worker = this.worker;
    if (worker) {
      worker.ref(); // until it has answered "closed" and is gone
      this.post(worker, { kind: "close" });
      // The worker answers "closed" once its connection is closed; do not hang a shutdown on it.
      const timer = setTimeout(() => this.closed?.resolve(), 2000);
      await this.closed.promise;
      clearTimeout(timer);
      this.worker = null;
      // Waits for the thread to be gone, so the process never exits while a worker is tearing down. The
      // timer is not unref'd: it is what keeps the event loop alive until then (the worker is unref'd).
      const exited = Promise.withResolvers<void>();
      const giveUp = setTimeout(exited.resolve, 1000);
      worker.addEventListener("close", () => exited.resolve(), { once: true });
      worker.terminate();
      await exited.promise;
      clearTimeout(giveUp);
    }
    this.closed.resolve();
  }

  /**
   * The worker's commits run SQLite's automatic WAL checkpoints (copy + fsync, ~10 ms every ~1,000
   * pages) on its own thread; the event loop's connection, which writes rarely (keys, grants), leaves
   * them to it so one of its writes never inherits a checkpoint.
   */
  private setEventLoopAutoCheckpoint(pages: number): void {
    this.options.db.$client.run(`PRAGMA wal_autocheckpoint = ${pages}`);
  }

  private post(worker: Worker, message: ToSettlementWorker): void {
    worker.postMessage(message);
  }

  private onMessage(message: FromSettlementWorker): void {
    switch (message.kind) {
      case "opened":
        this.opened = true;
        this.setEventLoopAutoCheckpoint(0);
        return;
      case "written": {
        const batch = this.pending.get(message.id);
        if (!batch) return;
        this.pending.delete(message.id);
        this.unrefWhenIdle();
        batch.done.resolve({ balances: new Map(message.balances), failures: new Map(message.failures) });
        return;
      }
      case "failed": {
        // Nothing of that batch was written (the worker had no database): the event loop writes it.
        const batch = message.id === null ? undefined : this.pending.get(message.id);
        if (message.id !== null) this.pending.delete(message.id);
        this.unrefWhenIdle();
        this.takeOver(`the settlement worker cannot write: ${message.message}`);
        if (batch && this.fallback) batch.done.resolve(this.fallback.writeNow(batch.inputs));
        return;
      }
      case "closed":
        this.closed?.resolve();
        return;
    }
  }

  private unrefWhenIdle(): void {
    if (this.pending.size === 0) this.worker?.unref();
  }

  /** From now on the event loop writes; batches the worker held are reported failed. */
  private takeOver(reason: string): void {
    if (this.fallback) return;
    this.options.onError(reason);
    this.fallback = new InlineSettlementWriter(this.options.db);
    this.setEventLoopAutoCheckpoint(DEFAULT_AUTOCHECKPOINT_PAGES);
    const worker = this.worker;
    this.worker = null;
    worker?.terminate();
    for (const [id, batch] of this.pending) {
      this.pending.delete(id);
      // Before "opened" nothing was written: safe to write here. After, the outcome is unknown.
      if (!this.opened) batch.done.resolve(this.fallback.writeNow(batch.inputs));
      else batch.done.reject(new Error(`${reason}; the batch's outcome is unknown`));
    }
    this.closed?.resolve();
  }
}
