/** The messages between the event loop and the settlement worker thread (structured-cloned). */

export type ToSettlementWorker =
  | { kind: "open"; path: string }
  /** The batch as one JSON string: cheaper for the event loop than cloning the records (bench/settlement.ts). */
  | { kind: "write"; id: number; inputs: string }
  | { kind: "close" };

export type FromSettlementWorker =
  | { kind: "opened" }
  | { kind: "written"; id: number; balances: Array<[string, number]>; failures: Array<[number, string]> }
  /** The worker could not open its connection or write at all: the event loop takes over. */
  | { kind: "failed"; id: number | null; message: string }
  | { kind: "closed" };
