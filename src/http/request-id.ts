/**
 * Request ids (`req_…`), one per HTTP request, minted on first use. Kept beside the Request object,
 * so the handler and the error renderer (which may run before or after it) agree on the same id.
 */

import { newId } from "../lib/ids.ts";
import { H } from "./headers.ts";

const ids = new WeakMap<Request, string>();

export function requestIdFor(request: Request): string {
  let id = ids.get(request);
  if (id === undefined) {
    id = newId("req");
    ids.set(request, id);
  }
  return id;
}

/** The id under the three names clients read (SPEC §6): ours, `x-request-id` and Anthropic's `request-id`. */
export function requestIdHeaders(requestId: string): Record<string, string> {
  return { [H.requestId]: requestId, [H.requestIdSdk]: requestId, [H.requestIdAnthropic]: requestId };
}
