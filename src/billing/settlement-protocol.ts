/** The messages between the event loop and the settlement worker thread (structured-cloned). */

export type ToSettlementWorker =
  | { kind: "open"; path: string }
  /**
   * The batch as JSON: posting one string is ~6× cheaper for the event loop than the structured clone
   * of the records (~4 µs a call, 6 % of a non-stream call's CPU in bench/compare.ts's profile).
   */
  | { kind: "write"; id: number; inputs: string }
  | { kind: "close" };

export type FromSettlementWorker =
  | { kind: "opened" }
  | { kind: "written"; id: number; balances: Array<[string, number]>; failures: Array<[number, string]> }
  /** The worker could not open its connection or write at all: the event loop takes over. */
  | { kind: "failed"; id: number | null; message: string }
  | { kind: "closed" };
