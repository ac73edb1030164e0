/** Prefixed random ids (`ws_`, `key_`, `req_`, `lot_`, `le_`, …): sortable by time, unguessable. */

const ALPHABET = "0123456789abcdefghijklmnopqrstuvwxyz";

/** 10 time chars (ms, base36) + 16 random chars: ids created later sort later. */
export function newId(prefix: string): string {
  const time = Date.now().toString(36).padStart(10, "0");
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  let rand = "";
  for (const byte of bytes) rand += ALPHABET[byte % 36];
  return `${prefix}_${time}${rand}`;
}

/** Random base62-ish id without a time part, for wire ids (`chatcmpl-…`, `msg_…`, `toolu_…`). */
export function randomToken(length = 24): string {
  const chars = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
  const bytes = crypto.getRandomValues(new Uint8Array(length));
  let out = "";
  for (const byte of bytes) out += chars[byte % 62];
  return out;
}
