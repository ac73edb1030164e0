/**
 * The one error type of Tollgate. Every failure is a GatewayError of one ErrorKind; dialects render it
 * (status from KIND_STATUS, SPEC §7) and nothing below the HTTP layer builds a Response.
 */

export type ErrorKind =
  | "invalid_request"
  | "invalid_api_key"
  | "insufficient_balance"
  | "max_price_exceeded"
  | "quota_exceeded"
  | "model_not_found"
  | "not_found"
  | "conflict"
  | "body_too_large"
  | "rate_limited"
  | "upstream_rate_limited"
  | "upstream_error"
  | "upstream_auth_failed"
  | "no_healthy_channel"
  | "upstream_timeout"
  | "byok_key_missing"
  | "byok_key_rejected"
  | "client_disconnected"
  | "internal";

export const KIND_STATUS = {
  invalid_request: 400,
  invalid_api_key: 401,
  insufficient_balance: 402,
  max_price_exceeded: 403,
  quota_exceeded: 403,
  model_not_found: 404,
  not_found: 404,
  conflict: 409,
  body_too_large: 413,
  rate_limited: 429,
  upstream_rate_limited: 429,
  upstream_error: 502,
  upstream_auth_failed: 502,
  no_healthy_channel: 503,
  upstream_timeout: 504,
  byok_key_missing: 400,
  byok_key_rejected: 400,
  client_disconnected: 499,
  internal: 500,
} as const satisfies Record<ErrorKind, number>;

/** Kinds the caller cannot fix by retrying: the SDKs are told `x-should-retry: false`. */
const NO_RETRY_KINDS: ReadonlySet<ErrorKind> = new Set<ErrorKind>([
  "insufficient_balance",
  "max_price_exceeded",
  "quota_exceeded",
  "upstream_auth_failed",
]);

export interface UpstreamErrorInfo {
  provider: string;
  status: number;
  /** The upstream's error body, as received: logged, and forwarded as-is only to a same-dialect client. */
  body: string;
  /** The upstream's own error code or type, when it gave one. */
  code: string | null;
}

/** What a failed call was billed (an upstream accepted it, SPEC §8.3): its response's figures say so. */
export interface BilledFigures {
  /** The billed model (the profile whose channel accepted the call). */
  model: string;
  cost_microcents: number;
  usage: {
    input_tokens: number;
    output_tokens: number;
    cache_read_tokens: number;
    cache_creation_tokens: number;
    reasoning_tokens: number;
  };
}

export interface GatewayErrorOptions {
  /** Overrides KIND_STATUS (an upstream 4xx keeps its own status). */
  status?: number;
  /** Whether the next channel may be tried (transient upstream failures). */
  retryable?: boolean;
  retryAfterMs?: number;
  /** The request field at fault, when there is one (OpenAI's `param`). */
  param?: string;
  upstream?: UpstreamErrorInfo;
  cause?: unknown;
  verbatimBody?: string;
  billed?: BilledFigures;
}

export class GatewayError extends Error {
  readonly kind: ErrorKind;
  readonly status: number;
  readonly retryable: boolean;
  readonly retryAfterMs: number | undefined;
  readonly param: string | undefined;
  readonly upstream: UpstreamErrorInfo | undefined;
  /** Render the upstream's own body as the response (same-dialect client, forwarded 4xx). */
  readonly verbatimBody: string | undefined;
  /** Set when the failed call was billed all the same: the figures its response carries instead of zeros. */
  readonly billed: BilledFigures | undefined;

  constructor(kind: ErrorKind, message: string, options: GatewayErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = "GatewayError";
    this.kind = kind;
    this.status = options.status ?? KIND_STATUS[kind];
    this.retryable = options.retryable ?? false;
    this.retryAfterMs = options.retryAfterMs;
    this.param = options.param;
    this.upstream = options.upstream;
    this.verbatimBody = options.verbatimBody;
    this.billed = options.billed;
  }

  private get options(): GatewayErrorOptions {
    return {
      status: this.status,
      retryable: this.retryable,
      ...(this.retryAfterMs !== undefined ? { retryAfterMs: this.retryAfterMs } : {}),
      ...(this.param !== undefined ? { param: this.param } : {}),
      ...(this.upstream !== undefined ? { upstream: this.upstream } : {}),
      ...(this.verbatimBody !== undefined ? { verbatimBody: this.verbatimBody } : {}),
      ...(this.billed !== undefined ? { billed: this.billed } : {}),
      cause: this.cause,
    };
  }

  /** This error, for a call that was billed `figures` all the same. */
  withBilled(figures: BilledFigures): GatewayError {
    return new GatewayError(this.kind, this.message, { ...this.options, billed: figures });
  }

  /** This error, to be answered with the upstream's own body. */
  verbatim(): GatewayError {
    if (!this.upstream) return this;
    return new GatewayError(this.kind, this.message, { ...this.options, verbatimBody: this.upstream.body });
  }

  /** An upstream 4xx (not 429) passed on to the caller, who must fix the request (SPEC §7). */
  get isForwardedUpstreamError(): boolean {
    return this.upstream !== undefined && !this.retryable && this.status >= 400 && this.status < 500 && this.status !== 429;
  }

  /** The stable code clients see: for a forwarded upstream 4xx the upstream's own (else `upstream_error`), else the kind. */
  get code(): string {
    if (this.isForwardedUpstreamError) return this.upstream?.code ?? "upstream_error";
    return this.kind;
  }

  get shouldRetry(): boolean | undefined {
    return NO_RETRY_KINDS.has(this.kind) ? false : undefined;
  }
}

/** Anything thrown that is not a GatewayError becomes `internal`, with the original kept as cause (logged, never shown). */
export function toGatewayError(error: unknown): GatewayError {
  if (error instanceof GatewayError) return error;
  // JSON nested thousands of levels deep parses (Bun's parser is not recursive), but serialising or
  // walking it overflows the stack: the request's shape is at fault, not the gateway.
  if (error instanceof RangeError && /call stack/i.test(error.message))
    return new GatewayError("invalid_request", "Invalid request: the body is nested too deeply.", { cause: error });
  return new GatewayError("internal", "The gateway hit an internal error.", { cause: error });
}
