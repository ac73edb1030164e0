/** Prefixed random ids (`ws_`, `key_`, `req_`, `lot_`, `le_`, …): sortable by time, unguessable. */

const ALPHABET = "0123456789abcdefghijklmnopqrstuvwxyz";
const TOKEN_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

/**
 * Random bytes drawn from the CSPRNG 4 KiB at a time: every call mints ids (a request id, wire ids), and
 * one `getRandomValues` call a pool is several times cheaper than one an id. Each byte is used once.
 */
const pool = new Uint8Array(4096);
let poolAt = pool.length;

function takeRandom(count: number): number {
  if (poolAt + count > pool.length) {
    crypto.getRandomValues(pool);
    poolAt = 0;
  }
  const at = poolAt;
  poolAt += count;
  return at;
}

function randomChars(alphabet: string, length: number): string {
  const at = takeRandom(length);
  let out = "";
  for (let index = at; index < at + length; index++) out += alphabet[(pool[index] as number) % alphabet.length];
  return out;
}

/** 10 time chars (ms, base36) + 16 random chars: ids created later sort later. */
export function newId(prefix: string): string {
  const time = Date.now().toString(36).padStart(10, "0");
  return `${prefix}_${time}${randomChars(ALPHABET, 16)}`;
}

/** Random base62-ish id without a time part, for wire ids (`chatcmpl-…`, `msg_…`, `toolu_…`). */
export function randomToken(length = 24): string {
  if (!Number.isInteger(length) || length < 0 || length > pool.length) throw new RangeError(`randomToken: a whole number of characters up to ${pool.length}, got ${length}`);
  return randomChars(TOKEN_ALPHABET, length);
}
