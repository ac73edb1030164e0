import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { openDatabase, type OpenedDatabase } from "../db/client.ts";
import { migrateDatabase } from "../db/migrate.ts";
import { WorkspaceRepo } from "../db/repo/workspaces.ts";
import { ManualClock } from "../lib/clock.ts";
import { grantLot, settlementOf, T0, USD } from "../../test/harness/ledger.ts";
import { readBalance, verifyLedger } from "./ledger.ts";
import { SettlementThread } from "./settlement-thread.ts";
import { Wallet } from "./wallet.ts";

let dir: string;
let opened: OpenedDatabase;
let workspaceId: string;
let errors: string[];

beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), "tollgate-settlement-"));
  opened = openDatabase(join(dir, "tollgate.db"));
  migrateDatabase(opened.db);
  workspaceId = (await new WorkspaceRepo(opened.db).create("a", T0)).id;
  grantLot({ opened, wsA: workspaceId, wsB: workspaceId }, workspaceId, USD, 365);
  errors = [];
});

afterEach(() => {
  opened.close();
  rmSync(dir, { recursive: true, force: true });
});

const charges = () => (opened.sqlite.query("SELECT count(*) AS n FROM ledger_entries WHERE kind = 'charge'").get() as { n: number }).n;
const autoCheckpointPages = () => (opened.sqlite.query("PRAGMA wal_autocheckpoint").get() as { wal_autocheckpoint: number }).wal_autocheckpoint;

describe("SettlementThread", () => {
  test("a batch still out when the process has nothing else to do is committed before close returns (the worker is ref'd meanwhile)", async () => {
    const own = mkdtempSync(join(dir, "process-"));
    const child = Bun.spawn(["bun", join(import.meta.dir, "..", "..", "test", "harness", "settle-then-close.ts"), own], { stdout: "pipe", stderr: "pipe" });
    const [code, stdout, stderr] = await Promise.all([child.exited, new Response(child.stdout).text(), new Response(child.stderr).text()]);
    expect({ code, stdout, stderr }).toEqual({ code: 0, stdout: "charges=2\n", stderr: "" });
  });

  test("a worker thread writes each batch on its own connection; the event loop's sees it committed", async () => {
    const thread = new SettlementThread({ path: opened.path, db: opened.db, onError: (message) => errors.push(message) });
    const first = await thread.write([settlementOf(workspaceId, 100), settlementOf(workspaceId, 250)]);
    expect(first.balances).toEqual(new Map([[workspaceId, USD - 350]]));
    expect(first.failures.size).toBe(0);
    expect(charges()).toBe(2);
    // Its commits run the checkpoints: the event loop's connection leaves them to it.
    expect(autoCheckpointPages()).toBe(0);
    const again = await thread.write([settlementOf(workspaceId, 50)]);
    expect(again.balances.get(workspaceId)).toBe(USD - 400);
    await thread.close();
    expect(readBalance(opened.db, workspaceId)).toBe(USD - 400);
    expect(verifyLedger(opened.db).problems).toEqual([]);
    expect(errors).toEqual([]);
  });

  test("a settlement that cannot be written fails alone, named by its index", async () => {
    const thread = new SettlementThread({ path: opened.path, db: opened.db, onError: (message) => errors.push(message) });
    await thread.write([settlementOf(workspaceId, 5, T0, "req_taken")]);
    const outcome = await thread.write([settlementOf(workspaceId, 100), settlementOf(workspaceId, 10, T0, "req_taken")]);
    expect([...outcome.failures.keys()]).toEqual([1]);
    expect(outcome.balances.get(workspaceId)).toBe(USD - 105);
    await thread.close();
    expect(charges()).toBe(2);
  });

  test("a worker that cannot open the database hands the writing back to the event loop", async () => {
    const thread = new SettlementThread({ path: join(dir, "missing", "nested", "\0bad.db"), db: opened.db, onError: (message) => errors.push(message) });
    const outcome = await thread.write([settlementOf(workspaceId, 100)]);
    expect(outcome.failures.size).toBe(0);
    expect(charges()).toBe(1);
    expect(errors.length).toBe(1);
    expect(errors[0]).toContain("settlement worker");
    expect(autoCheckpointPages()).toBe(1000);
    await thread.close();
  });
});

describe("Wallet over the settlement thread", () => {
  test("answers need not wait: drained() resolves once everything queued is committed, and close() writes the rest", async () => {
    const thread = new SettlementThread({ path: opened.path, db: opened.db, onError: (message) => errors.push(message) });
    const wallet = new Wallet(opened.db, new ManualClock(T0), 60_000, thread, { batchWindowMs: 60_000 });
    const holds = Array.from({ length: 3 }, () => {
      const outcome = wallet.tryHold(workspaceId, 1000, 0);
      if (!outcome.ok) throw new Error("hold refused");
      return outcome.hold;
    });
    // An idle wallet writes the first call at once; the next, within the window, waits for it to end.
    await wallet.settle(holds[0]!, settlementOf(workspaceId, 100));
    expect(charges()).toBe(1);
    void wallet.settle(holds[1]!, settlementOf(workspaceId, 200));
    await Bun.sleep(10);
    expect(charges()).toBe(1);
    // The waiting call's hold is set to its cost (200); the third call's 1,000 is still held whole.
    expect(wallet.heldMicrocents(workspaceId)).toBe(1200);
    expect(wallet.availableMicrocents(workspaceId)).toBe(USD - 100 - 1200);
    await wallet.drained();
    expect(charges()).toBe(2);
    expect(wallet.heldMicrocents(workspaceId)).toBe(1000);
    expect(wallet.availableMicrocents(workspaceId)).toBe(USD - 300 - 1000);
    const last = wallet.settle(holds[2]!, settlementOf(workspaceId, 300));
    await wallet.close();
    await last;
    expect(charges()).toBe(3);
    expect(readBalance(opened.db, workspaceId)).toBe(USD - 600);
    expect(errors).toEqual([]);
  });

  test("a lone call is written at once, without waiting for the window", async () => {
    const thread = new SettlementThread({ path: opened.path, db: opened.db, onError: (message) => errors.push(message) });
    const wallet = new Wallet(opened.db, new ManualClock(T0), 60_000, thread, { batchWindowMs: 60_000 });
    const outcome = wallet.tryHold(workspaceId, 1000, 0);
    if (!outcome.ok) throw new Error("hold refused");
    await wallet.settle(outcome.hold, settlementOf(workspaceId, 100));
    expect(charges()).toBe(1);
    await wallet.close();
  });
});
