/** The messages between the event loop and the settlement worker thread (structured-cloned). */

import type { SettlementInput } from "./ledger.ts";

export type ToSettlementWorker =
  | { kind: "open"; path: string }
  | { kind: "write"; id: number; inputs: readonly SettlementInput[] }
  | { kind: "close" };

export type FromSettlementWorker =
  | { kind: "opened" }
  | { kind: "written"; id: number; balances: Array<[string, number]>; failures: Array<[number, string]> }
  /** The worker could not open its connection or write at all: the event loop takes over. */
  | { kind: "failed"; id: number | null; message: string }
  | { kind: "closed" };
