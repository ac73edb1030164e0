/**
 * Server-sent events on the wire: `{event?, data}` → bytes. Event names are checked for line breaks
 * (a newline would split the event); data is one JSON document, which JSON.stringify never breaks
 * across lines.
 */

const encoder = new TextEncoder();
const EVENT_NAME = /^[^\r\n]*$/;

export const SSE_HEADERS = {
  "content-type": "text/event-stream; charset=utf-8",
  "cache-control": "no-cache",
  connection: "keep-alive",
  "x-accel-buffering": "no",
} as const;

/** `data: <json>\n\n`, or with an `event:` line first. */
export function encodeSseEvent(data: string, event?: string): Uint8Array {
  if (event !== undefined && !EVENT_NAME.test(event)) throw new Error("SSE event name contains a line break");
  if (data.includes("\n") || data.includes("\r")) throw new Error("SSE data contains a line break");
  return encoder.encode(event === undefined ? `data: ${data}\n\n` : `event: ${event}\ndata: ${data}\n\n`);
}

/** A comment line: ignored by every SSE parser, keeps idle connections alive. */
export const SSE_KEEPALIVE = encoder.encode(": keepalive\n\n");

/** One chunk of the parts' bytes, in order (the part itself when there is one). */
export function concatBytes(parts: readonly Uint8Array[]): Uint8Array {
  if (parts.length === 1 && parts[0]) return parts[0];
  let length = 0;
  for (const part of parts) length += part.length;
  const out = new Uint8Array(length);
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
}
