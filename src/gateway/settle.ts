/**
 * Settlement: a call ends exactly once (finish, failure, refusal or client cancel) and is written as
 * one transaction: the request record and, when the call cost something, its charge.
 *
 * 1. The served channel's price turns usage into cost (rounded up once).
 * 2. The wallet queues record + charge for its group commit (a worker thread in the gateway) and ends
 *    the hold once they are committed, whatever the outcome.
 * 3. The summary returned is exactly what is written (SPEC §6: figures equal the record).
 * 4. The answer does not wait for the commit: the hold keeps the charge counted against the balance
 *    until it lands (SPEC §8.2), and readers of records wait for it (Wallet.drained). A crash in
 *    between loses that call's record and charge, as it would if it came while the upstream answered:
 *    the provider was paid either way, so waiting would only withhold the answer (README, "Choices").
 */

import { costOfUsageMicrocents } from "../billing/pricing.ts";
import type { Hold } from "../billing/wallet.ts";
import type { AdmitTicket } from "../limits/limiter.ts";
import type { Usage } from "../canonical/usage.ts";
import type { GatewayError } from "../errors.ts";
import { emptyUsage, wholeUsage } from "../canonical/usage.ts";
import type { ChannelConfig, ModelProfile } from "../config/types.ts";
import type { RequestContext } from "./context.ts";
import type { GatewayServices } from "./services.ts";
import { summaryOf, type TollgateSummary } from "./summary.ts";

export interface Attempt {
  model: string;
  provider: string;
  error_code: string | null;
}

export interface SettleOutcome {
  status: "ok" | "error" | "refused";
  httpStatus: number;
  errorCode: string | null;
  usage: Usage;
  /** Whether the usage is billed (an upstream accepted the call). */
  billable: boolean;
  ttftMs: number | null;
}

/** What a call is, for its record, and how it is billed. */
export interface CallTerms {
  model: string;
  stream: boolean;
  route: string | null;
  hold: Hold | null;
  /** X-Tollgate-BYOK: the flat fee replaces the token price (the upstream bills the workspace's own key). */
  byokFeeMicrocents?: number | null;
  /** The rate-limit admission, corrected to the actual tokens when the call ends. */
  ticket?: AdmitTicket | null;
}

export class CallSettlement {
  private served: { profile: ModelProfile; channel: ChannelConfig } | null = null;
  /** The last channel that answered 2xx: it bills the input if no channel ends up serving (SPEC §8.3). */
  private accepted: { profile: ModelProfile; channel: ChannelConfig } | null = null;
  /** The input that channel reported before its first content (Anthropic's message_start), if it did. */
  private acceptedInput: Usage | null = null;
  /** Holds added for a pricier candidate than the first (attempts.ts), ended with the main one. */
  private readonly extraHolds: Hold[] = [];
  private markEnded: () => void = () => {};
  /** Resolves when the call ends (finish, failure, refusal or cancel), before its write commits. */
  readonly ended = new Promise<void>((resolve) => {
    this.markEnded = resolve;
  });
  private summary: TollgateSummary | null = null;
  readonly attempts: Attempt[] = [];

  constructor(
    private readonly services: GatewayServices,
    private readonly ctx: RequestContext,
    private readonly call: CallTerms,
  ) {}

  /** What the call holds in all: the main hold and any extension. */
  get heldMicrocents(): number {
    return (this.call.hold?.amountMicrocents ?? 0) + this.extraHolds.reduce((sum, hold) => sum + hold.amountMicrocents, 0);
  }

  addHold(hold: Hold): void {
    this.extraHolds.push(hold);
  }

  get settled(): boolean {
    return this.summary !== null;
  }

  /**
   * An upstream answered 2xx. If its answer then fails (a body cut short, an error before the first
   * content, the client leaving) and no other channel serves, the call is billed at this channel's price.
   */
  accept(profile: ModelProfile, channel: ChannelConfig): void {
    this.accepted = { profile, channel };
    this.acceptedInput = null;
  }

  /** What the accepting upstream reported of the input before its first content (a stream's start). */
  noteAcceptedInput(usage: Usage): void {
    if (usage.input + usage.cacheRead + usage.cacheWrite > 0) this.acceptedInput = { ...emptyUsage(), input: usage.input, cacheRead: usage.cacheRead, cacheWrite: usage.cacheWrite };
  }

  /**
   * Ends a call no channel served and returns the error to throw: once an upstream accepted it (2xx), the
   * input is billed (SPEC §8.3) as that upstream reported it, else as `countInput` gives it; else nothing is.
   */
  async failed(failure: GatewayError, countInput: () => number | Promise<number>): Promise<GatewayError> {
    const outcome = { status: "error", httpStatus: failure.status, errorCode: failure.code, ttftMs: null } as const;
    if (!this.wasAccepted) {
      this.finish({ ...outcome, usage: emptyUsage(), billable: false });
      return failure;
    }
    const usage = this.acceptedInput ?? { ...emptyUsage(), input: await countInput() };
    return failure.withBilled(this.finish({ ...outcome, usage, billable: true }));
  }

  /** Whether an upstream accepted the call (answered 2xx), served or not. */
  get wasAccepted(): boolean {
    return this.accepted !== null || this.served !== null;
  }

  /** The channel that serves the call: billed at its price, and the last, successful attempt. */
  serve(profile: ModelProfile, channel: ChannelConfig): void {
    this.served = { profile, channel };
    this.attempts.push({ model: profile.id, provider: channel.provider.id, error_code: null });
  }

  get servedChannel(): ChannelConfig | null {
    return this.served?.channel ?? null;
  }

  get billedModel(): string | null {
    return this.served?.profile.id ?? null;
  }

  /** A served call tells its channel's health: success with what it measured, or a failure mid-stream. */
  private recordHealth(outcome: SettleOutcome, latencyMs: number): void {
    const channel = this.served?.channel;
    if (!channel || outcome.status === "refused") return;
    if (outcome.status === "ok") {
      const generationMs = outcome.ttftMs === null ? null : latencyMs - outcome.ttftMs;
      this.services.health.recordSuccess(channel.key, { ttftMs: outcome.ttftMs, outputTokens: outcome.usage.output, generationMs });
    } else if (outcome.errorCode !== "client_disconnected") {
      this.services.health.recordFailure(channel.key);
    }
  }

  /** Ends the call; later calls return the first result unchanged. */
  finish(outcome: SettleOutcome): TollgateSummary {
    if (this.summary) return this.summary;
    this.markEnded();
    const { services, ctx } = this;
    // Billed by the channel that served, else (a billable end with none serving) by the one that accepted.
    const served = this.served ?? (outcome.billable ? this.accepted : null);
    const usage = outcome.billable ? wholeUsage(outcome.usage) : emptyUsage();
    const byokFee = this.call.byokFeeMicrocents ?? null;
    const cost = !outcome.billable || !served ? 0 : byokFee !== null ? byokFee : costOfUsageMicrocents(usage, served.channel.price);
    const now = services.clock.now();
    const record = {
      requestId: ctx.requestId,
      workspaceId: ctx.principal.workspaceId,
      keyId: ctx.principal.keyId,
      createdAt: ctx.startedAtMs,
      model: this.call.model,
      billedModel: served?.profile.id ?? null,
      provider: served?.channel.provider.id ?? null,
      upstreamModel: served?.channel.upstreamModel ?? null,
      route: this.call.route,
      clientDialect: ctx.dialect,
      upstreamDialect: served?.channel.provider.kind ?? null,
      stream: this.call.stream,
      status: outcome.status,
      httpStatus: outcome.httpStatus,
      errorCode: outcome.errorCode,
      inputTokens: usage.input,
      outputTokens: usage.output,
      cacheReadTokens: usage.cacheRead,
      cacheCreationTokens: usage.cacheWrite,
      reasoningTokens: usage.reasoning,
      costMicrocents: cost,
      latencyMs: Math.round(performance.now() - ctx.startedAtPerf),
      ttftMs: outcome.ttftMs,
      attempts: JSON.stringify(this.attempts),
      byok: byokFee !== null,
      translatedFrom: null,
    };
    this.summary = summaryOf(ctx.requestId, served?.profile.id ?? this.call.model, cost, usage);
    if (this.call.ticket) services.limiter.settle(this.call.ticket, usage.input + usage.cacheRead + usage.cacheWrite + usage.output);
    this.recordHealth(outcome, record.latencyMs);
    const hold = this.call.hold;
    if (hold) {
      services.spend.settle(ctx.principal.workspaceId, this.heldMicrocents, cost, ctx.startedAtMs);
      services.wallet
        .settle(hold, { record, nowMs: now }, this.extraHolds)
        .catch((error: unknown) => services.log.error("settlement write failed", { request_id: ctx.requestId, error: String(error) }));
    } else {
      services.wallet
        .recordOnly({ record, nowMs: now })
        .catch((error: unknown) => services.log.error("request record write failed", { request_id: ctx.requestId, error: String(error) }));
    }
    return this.summary;
  }
}
