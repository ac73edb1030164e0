/**
 * Why a call's upstream request was aborted: the client went away (499 client_disconnected) or the
 * gateway's request_timeout_ms ran out (504 upstream_timeout). The reason travels as the signal's
 * `reason`, a GatewayError, so every layer reports the right one.
 */

import { GatewayError } from "../errors.ts";

export class CallAbort {
  readonly controller = new AbortController();
  private timer: ReturnType<typeof setTimeout> | null = null;
  private readonly onClientGone = () => this.abort(new GatewayError("client_disconnected", "The client went away."));

  constructor(
    private readonly clientSignal: AbortSignal,
    requestTimeoutMs: number,
  ) {
    clientSignal.addEventListener("abort", this.onClientGone, { once: true });
    this.timer = setTimeout(
      () => this.abort(new GatewayError("upstream_timeout", `The call did not finish within the gateway's request timeout of ${requestTimeoutMs} ms.`, { retryable: true })),
      requestTimeoutMs,
    );
  }

  get signal(): AbortSignal {
    return this.controller.signal;
  }

  /** The reason as a GatewayError, if the call was aborted. */
  get reason(): GatewayError | null {
    const reason: unknown = this.controller.signal.reason;
    return this.controller.signal.aborted && reason instanceof GatewayError ? reason : null;
  }

  abort(reason: GatewayError = new GatewayError("client_disconnected", "The client went away.")): void {
    if (!this.controller.signal.aborted) this.controller.abort(reason);
    this.dispose();
  }

  /** The call ended: no timer, no listener left behind. */
  dispose(): void {
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
    this.clientSignal.removeEventListener("abort", this.onClientGone);
  }
}
