/**
 * Token-bucket arithmetic, pure: a bucket of `capacity` that refills evenly over `refillMs` (a minute
 * for rpm/tpm). Levels may go below zero when a settlement charges more than was taken at admission;
 * the bucket then refills from there.
 */

export interface BucketState {
  level: number;
  updatedAtMs: number;
}

export interface BucketSpec {
  capacity: number;
  refillMs: number;
}

export function fullBucket(spec: BucketSpec, nowMs: number): BucketState {
  return { level: spec.capacity, updatedAtMs: nowMs };
}

/** The level at `nowMs` (refilled since the last update, never above capacity). */
export function levelAt(state: BucketState, spec: BucketSpec, nowMs: number): number {
  const elapsed = Math.max(0, nowMs - state.updatedAtMs);
  return Math.min(spec.capacity, state.level + (elapsed * spec.capacity) / spec.refillMs);
}

/** Brings the state to `nowMs`. */
export function refill(state: BucketState, spec: BucketSpec, nowMs: number): void {
  state.level = levelAt(state, spec, nowMs);
  state.updatedAtMs = Math.max(state.updatedAtMs, nowMs);
}

/** Milliseconds until the bucket holds `amount` (0 if it already does; amounts above capacity wait for a full bucket). */
export function msUntil(state: BucketState, spec: BucketSpec, amount: number, nowMs: number): number {
  const need = Math.min(amount, spec.capacity) - levelAt(state, spec, nowMs);
  return need <= 0 ? 0 : Math.ceil((need * spec.refillMs) / spec.capacity);
}

/** Milliseconds until the bucket is full again. */
export function msUntilFull(state: BucketState, spec: BucketSpec, nowMs: number): number {
  return msUntil(state, spec, spec.capacity, nowMs);
}
