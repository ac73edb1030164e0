/**
 * A process that queues one settlement on a fresh SettlementThread and closes it at once, with nothing
 * else to keep its event loop alive (as a stopping server has): it must still commit, then print the
 * charge count (2). Run by src/billing/settlement-thread.test.ts: `bun test/harness/settle-then-close.ts DIR`.
 */

import { join } from "node:path";
import { SettlementThread } from "../../src/billing/settlement-thread.ts";
import { openDatabase } from "../../src/db/client.ts";
import { migrateDatabase } from "../../src/db/migrate.ts";
import { WorkspaceRepo } from "../../src/db/repo/workspaces.ts";
import { grantLot, settlementOf, T0, USD } from "./ledger.ts";

const dir = process.argv[2];
if (!dir) throw new Error("usage: bun test/harness/settle-then-close.ts DIR");
const opened = openDatabase(join(dir, "tollgate.db"));
migrateDatabase(opened.db);
const workspaceId = (await new WorkspaceRepo(opened.db).create("a", T0)).id;
grantLot({ opened, wsA: workspaceId, wsB: workspaceId }, workspaceId, USD, 365);
const thread = new SettlementThread({ path: opened.path, db: opened.db, onError: (message) => console.error(message) });
// The first batch starts the worker and is waited for; the second is still out when close is called,
// from a callback (as a SIGTERM handler is), with no top-level await pending that could hold the process.
await thread.write([settlementOf(workspaceId, 100)]);
setTimeout(() => {
  void thread.write([settlementOf(workspaceId, 50)]);
  void thread.close().then(() => {
    const { n } = opened.sqlite.query("SELECT count(*) AS n FROM ledger_entries WHERE kind = 'charge'").get() as { n: number };
    console.log(`charges=${n}`);
    opened.close();
  });
}, 0);
