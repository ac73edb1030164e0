/**
 * Request ids (`req_…`), one per HTTP request, minted on first use. Kept beside the Request object,
 * so the handler and the error renderer (which may run before or after it) agree on the same id.
 */

import { newId } from "../lib/ids.ts";

const ids = new WeakMap<Request, string>();

export function requestIdFor(request: Request): string {
  let id = ids.get(request);
  if (id === undefined) {
    id = newId("req");
    ids.set(request, id);
  }
  return id;
}
