/**
 * Channel health: a circuit breaker per channel and what real traffic measured (EWMA of time to first
 * token and output tokens per second).
 *
 * 1. closed    — calls flow; `BREAKER_THRESHOLD` consecutive transient failures open the circuit.
 * 2. open      — the channel is skipped for `cooldownMs`.
 * 3. half-open — after the cooldown one probe call is let through: success closes, failure re-opens.
 * Kept behind ChannelHealthStore so several gateway processes can later share it (Redis).
 */

const BREAKER_THRESHOLD = 3;
const DEFAULT_COOLDOWN_MS = 30_000;
/** Weight of the newest measurement in the moving averages. */
const EWMA_ALPHA = 0.2;

export type BreakerState = "closed" | "open" | "half-open";

export interface ChannelStats {
  state: BreakerState;
  consecutiveFailures: number;
  openedAtMs: number;
  probeInFlight: boolean;
  /** Calls that produced a measurement (the weight of this channel in a model's mean). */
  measuredCalls: number;
  ttftMs: number | null;
  tokensPerSecond: number | null;
}

export interface ChannelHealthStore {
  get(channelKey: string): ChannelStats | undefined;
  set(channelKey: string, stats: ChannelStats): void;
}

export class MemoryChannelHealthStore implements ChannelHealthStore {
  private readonly stats = new Map<string, ChannelStats>();
  get(channelKey: string) {
    return this.stats.get(channelKey);
  }
  set(channelKey: string, stats: ChannelStats) {
    this.stats.set(channelKey, stats);
  }
}

function fresh(): ChannelStats {
  return { state: "closed", consecutiveFailures: 0, openedAtMs: 0, probeInFlight: false, measuredCalls: 0, ttftMs: null, tokensPerSecond: null };
}

const ewma = (previous: number | null, sample: number) => (previous === null ? sample : previous + EWMA_ALPHA * (sample - previous));

export interface CallMeasurement {
  ttftMs: number | null;
  outputTokens: number;
  /** From the first token to the end of the answer. */
  generationMs: number | null;
}

export class ChannelHealth {
  constructor(
    private readonly now: () => number,
    private readonly store: ChannelHealthStore = new MemoryChannelHealthStore(),
    readonly cooldownMs: number = DEFAULT_COOLDOWN_MS,
  ) {}

  private stats(channelKey: string): ChannelStats {
    let stats = this.store.get(channelKey);
    if (!stats) {
      stats = fresh();
      this.store.set(channelKey, stats);
    }
    return stats;
  }

  /** Whether a call may use the channel now (an open circuit past its cooldown admits one probe). */
  isAvailable(channelKey: string): boolean {
    const stats = this.store.get(channelKey);
    if (!stats || stats.state === "closed") return true;
    if (stats.state === "open" && this.now() - stats.openedAtMs >= this.cooldownMs) {
      stats.state = "half-open";
      stats.probeInFlight = false;
    }
    return stats.state === "half-open" && !stats.probeInFlight;
  }

  /** A call is about to use the channel: a half-open channel's probe is now taken. */
  begin(channelKey: string): void {
    const stats = this.store.get(channelKey);
    if (stats?.state === "half-open") stats.probeInFlight = true;
  }

  recordSuccess(channelKey: string, measurement?: CallMeasurement): void {
    const stats = this.stats(channelKey);
    stats.state = "closed";
    stats.consecutiveFailures = 0;
    stats.probeInFlight = false;
    if (!measurement || measurement.ttftMs === null) return;
    stats.measuredCalls++;
    stats.ttftMs = ewma(stats.ttftMs, measurement.ttftMs);
    if (measurement.generationMs !== null && measurement.generationMs > 0 && measurement.outputTokens > 1) {
      stats.tokensPerSecond = ewma(stats.tokensPerSecond, (measurement.outputTokens * 1000) / measurement.generationMs);
    }
  }

  /** A transient failure (5xx, 429, timeout, connection): enough of them in a row open the circuit. */
  recordFailure(channelKey: string): void {
    const stats = this.stats(channelKey);
    stats.consecutiveFailures++;
    stats.probeInFlight = false;
    if (stats.state === "half-open" || stats.consecutiveFailures >= BREAKER_THRESHOLD) {
      stats.state = "open";
      stats.openedAtMs = this.now();
    }
  }

  snapshot(channelKey: string): Readonly<ChannelStats> {
    return this.store.get(channelKey) ?? fresh();
  }
}
