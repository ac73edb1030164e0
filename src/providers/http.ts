/**
 * Upstream HTTP: one fetch with the client's abort linked in and a deadline for the response headers;
 * non-2xx answers become GatewayErrors through the provider's decode-error (classified once, there).
 * Connection failures and timeouts are retryable: the next channel may work.
 */

import { GatewayError } from "../errors.ts";

export type UpstreamErrorDecoder = (provider: string, status: number, bodyText: string, headers: Headers) => GatewayError;

export interface UpstreamRequest {
  provider: string;
  url: string;
  headers: Record<string, string>;
  body: string;
  /** The call's signal: the client going away, or the gateway giving up. */
  signal: AbortSignal;
  /**
   * Deadline for the upstream's response headers, this try only (a stream's first-byte timeout: the next
   * channel may answer). null: the call's own signal bounds the wait, with no timer or linked signal of
   * this try's own (those cost a non-stream call ~6 µs of CPU, ~4 % of it: docs/benchmarks.md, the comparison).
   */
  headersTimeoutMs: number | null;
  decodeError: UpstreamErrorDecoder;
  /** Called once the upstream answered 2xx (it has accepted the call), before its body is read. */
  onAccepted?: (() => void) | undefined;
}

/** Why the call was aborted: the GatewayError the gateway gave as reason, else the client left. */
function abortError(signal: AbortSignal): GatewayError {
  return signal.reason instanceof GatewayError ? signal.reason : new GatewayError("client_disconnected", "The client went away.");
}

/** The fetch itself, its failures as GatewayErrors; `deadline` is this try's own, if it has one. */
async function send(request: UpstreamRequest, signal: AbortSignal, deadline: AbortSignal | null): Promise<Response> {
  try {
    return await fetch(request.url, { method: "POST", headers: request.headers, body: request.body, signal });
  } catch (error) {
    if (request.signal.aborted) throw abortError(request.signal);
    if (deadline?.aborted)
      throw new GatewayError("upstream_timeout", `The provider '${request.provider}' did not answer within ${request.headersTimeoutMs} ms.`, { retryable: true });
    throw new GatewayError("upstream_error", `The provider '${request.provider}' could not be reached.`, { retryable: true, cause: error });
  }
}

async function sendWithDeadline(request: UpstreamRequest, timeoutMs: number): Promise<Response> {
  const deadline = new AbortController();
  const timer = setTimeout(() => deadline.abort(), timeoutMs);
  try {
    return await send(request, AbortSignal.any([request.signal, deadline.signal]), deadline.signal);
  } finally {
    clearTimeout(timer);
  }
}

/** Sends the request; resolves with a 2xx response (body unread), throws a GatewayError otherwise. */
export async function fetchUpstream(request: UpstreamRequest): Promise<Response> {
  if (request.signal.aborted) throw abortError(request.signal);
  const response = request.headersTimeoutMs === null ? await send(request, request.signal, null) : await sendWithDeadline(request, request.headersTimeoutMs);
  if (response.ok) {
    request.onAccepted?.();
    return response;
  }
  // An error body too large to read is an error without its text.
  const bodyText = await readUpstreamText(request.provider, response, MAX_UPSTREAM_ERROR_BYTES).catch(() => "");
  throw request.decodeError(request.provider, response.status, bodyText, response.headers);
}

/**
 * The largest upstream body read whole (a non-stream answer, an error, embeddings): past it the gateway
 * stops reading rather than run out of memory. Embeddings of 2,048 inputs at 3,072 dimensions are ~80 MB of JSON.
 */
export const MAX_UPSTREAM_BODY_BYTES = 256 * 1024 * 1024;

/** An upstream's error body is a message: read up to this much of it. */
const MAX_UPSTREAM_ERROR_BYTES = 1024 * 1024;

/** Not retried on another channel: the upstream accepted the call (its input is billed) and answered it. */
function bodyTooLarge(provider: string, maxBytes: number): GatewayError {
  return new GatewayError("upstream_error", `The provider '${provider}' answered with a body larger than ${maxBytes} bytes.`);
}

const utf8 = new TextDecoder();

/**
 * A whole body as text, at most `maxBytes`: a declared length within it is read natively in one go
 * (every plain answer that carries one); a chunked or compressed body is counted as it comes (fetch
 * decompresses, and the header gives the compressed size) and cancelled once over.
 */
export async function readUpstreamText(provider: string, response: Response, maxBytes = MAX_UPSTREAM_BODY_BYTES): Promise<string> {
  const declared = Number(response.headers.get("content-length") ?? Number.NaN);
  const encoding = response.headers.get("content-encoding");
  const plain = encoding === null || encoding === "identity";
  if (plain && declared > maxBytes) {
    response.body?.cancel().catch(() => {});
    throw bodyTooLarge(provider, maxBytes);
  }
  if ((plain && Number.isFinite(declared)) || response.body === null) return response.text();
  const reader = response.body.getReader();
  const chunks: Uint8Array[] = [];
  let total = 0;
  for (;;) {
    const read = await reader.read();
    if (read.done) break;
    total += read.value.byteLength;
    if (total > maxBytes) {
      reader.cancel().catch(() => {});
      throw bodyTooLarge(provider, maxBytes);
    }
    chunks.push(read.value);
  }
  return utf8.decode(Bun.concatArrayBuffers(chunks));
}

/** A whole JSON body: its text as the upstream wrote it, and that text parsed. */
export interface UpstreamJson {
  text: string;
  json: unknown;
}

/** Reads a whole JSON body, with failures as upstream errors. */
export async function readUpstreamJsonText(provider: string, response: Response): Promise<UpstreamJson> {
  const text = await readUpstreamText(provider, response).catch((error: unknown) => {
    if (error instanceof GatewayError) throw error;
    throw new GatewayError("upstream_error", `The provider '${provider}' connection failed while answering.`, { cause: error });
  });
  try {
    return { text, json: JSON.parse(text) };
  } catch (error) {
    throw new GatewayError("upstream_error", `The provider '${provider}' answered with invalid JSON.`, { cause: error });
  }
}

/** Reads a whole JSON body, parsed; failures as upstream errors. */
export async function readUpstreamJson(provider: string, response: Response): Promise<unknown> {
  return (await readUpstreamJsonText(provider, response)).json;
}
