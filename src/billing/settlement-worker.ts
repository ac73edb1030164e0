/**
 * The settlement worker thread's entry: its own SQLite connection to the gateway's database, on which
 * it writes each batch the event loop hands it (writeSettlementBatch), so the commits, their WAL writes
 * and the checkpoints that follow them never stall request handling. Built into the binary as a second
 * entrypoint (scripts/build.ts).
 */

import { openDatabase, type OpenedDatabase } from "../db/client.ts";
import { SETTLEMENT_PAGE_CACHE_KIB, SettlementBatchWriter } from "./group-commit.ts";
import type { SettlementInput } from "./ledger.ts";
import type { FromSettlementWorker, ToSettlementWorker } from "./settlement-protocol.ts";
import { writeSettlementBatch } from "./settlement-writer.ts";
import { messageOf } from "../lib/log.ts";

declare const self: Worker;

let opened: OpenedDatabase | null = null;
let batches: SettlementBatchWriter | null = null;

function reply(message: FromSettlementWorker): void {
  self.postMessage(message);
}

self.onmessage = (event: MessageEvent<ToSettlementWorker>) => {
  const message = event.data;
  switch (message.kind) {
    case "open":
      try {
        opened = openDatabase(message.path, { pageCacheKiB: SETTLEMENT_PAGE_CACHE_KIB });
        batches = new SettlementBatchWriter(opened.db);
        reply({ kind: "opened" });
      } catch (error) {
        reply({ kind: "failed", id: null, message: messageOf(error) });
      }
      return;
    case "write": {
      if (!opened || !batches) {
        reply({ kind: "failed", id: message.id, message: "the settlement worker has no database" });
        return;
      }
      try {
        const inputs = JSON.parse(message.inputs) as SettlementInput[];
        const outcome = writeSettlementBatch(opened.db, batches, inputs);
        reply({ kind: "written", id: message.id, balances: [...outcome.balances], failures: [...outcome.failures] });
      } catch (error) {
        reply({ kind: "failed", id: message.id, message: messageOf(error) });
      }
      return;
    }
    case "close":
      opened?.close();
      opened = null;
      batches = null;
      reply({ kind: "closed" });
      return;
  }
};
