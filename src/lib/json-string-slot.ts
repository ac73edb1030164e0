/**
 * A JSON document with one string member left open: learned from a document the caller parsed, it
 * reads later documents that repeat it byte for byte around another plain string literal without
 * JSON.parse (an upstream's stream chunks differ only in their delta text). A second, free string member
 * after it may differ too (OpenAI's `obfuscation`: random padding in every chunk); its literal is kept
 * as written, never read. Exact by construction: anything else is not a match, and the caller parses.
 */

/**
 * A copy of a slice that does not keep the sliced string alive: JSC's substrings share their base, so a
 * slot's prefix would hold a whole upstream read (up to ~100 KB) for the stream's lifetime.
 */
function detached(text: string): string {
  return JSON.parse(JSON.stringify(text)) as string;
}

/** Strings no upstream sends: they mark the slot and the free member while the template is verified. */
const SENTINEL = "\u0000tollgate-slot\u0001";
const FREE_SENTINEL = "\u0000tollgate-free\u0001";
const QUOTE = 34;
const BACKSLASH = 92;

/** How to find and set a document's member. */
export interface MemberAccess {
  read: (document: unknown) => unknown;
  write: (document: unknown, value: string) => void;
}

export class JsonStringSlot {
  private constructor(
    /** The document's text before the slot's string literal (up to and including the member's colon). */
    readonly prefix: string,
    /** The document's text after the literal: all of it, or up to the free member's literal when there is one. */
    readonly suffix: string,
    /** The text after the free member's literal; null when the slot has no free member. */
    readonly tail: string | null,
  ) {}

  /**
   * The template of `raw` with the string `value` as its slot. `slot` finds and sets the slot's member in
   * a parsed document; `free`, a string member after it that may differ from document to document.
   * Learning costs one parse and two serialisations, and succeeds only when it is proven: `value`'s
   * literal occurs exactly once in `raw` (the free member's once after it, without escapes), and the
   * document with other strings in their places parses to the same value apart from those members.
   * A free member that is absent, or whose literal is not found exactly once after the slot's, leaves a
   * slot without one; one found at another member's place fails the proof (no slot).
   */
  static learn(raw: string, parsed: unknown, value: string, slot: MemberAccess, free?: MemberAccess): JsonStringSlot | null {
    const literal = JSON.stringify(value);
    const at = raw.indexOf(literal);
    if (at === -1 || raw.indexOf(literal, at + 1) !== -1) return null;
    const prefix = raw.slice(0, at);
    let suffix = raw.slice(at + literal.length);
    let tail: string | null = null;
    const freeValue = free?.read(parsed);
    if (typeof freeValue === "string") {
      const freeLiteral = JSON.stringify(freeValue);
      const freeAt = suffix.indexOf(freeLiteral);
      if (!freeLiteral.includes("\\") && freeAt !== -1 && suffix.indexOf(freeLiteral, freeAt + 1) === -1) {
        tail = suffix.slice(freeAt + freeLiteral.length);
        suffix = suffix.slice(0, freeAt);
      }
    }
    let probe: unknown;
    try {
      probe = JSON.parse(`${prefix}${JSON.stringify(SENTINEL)}${suffix}${tail === null ? "" : `${JSON.stringify(FREE_SENTINEL)}${tail}`}`);
    } catch {
      return null;
    }
    if (slot.read(probe) !== SENTINEL) return null;
    slot.write(probe, value);
    if (tail !== null && free && typeof freeValue === "string") {
      if (free.read(probe) !== FREE_SENTINEL) return null;
      free.write(probe, freeValue);
    }
    // Key order survives JSON.parse, so equal documents serialise to equal text.
    if (JSON.stringify(probe) !== JSON.stringify(parsed)) return null;
    return new JsonStringSlot(detached(prefix), detached(suffix), tail === null ? null : detached(tail));
  }

  /**
   * The slot's string when `raw` is this template around a string literal (and a plain free literal);
   * null when it is not (then parse `raw`). A literal without escapes is read as it is; one with escapes
   * through JSON.parse of the literal alone.
   */
  match(raw: string): string | null {
    const start = this.prefix.length;
    const end = this.literalEnd(raw);
    if (end - start < 2 || raw.charCodeAt(start) !== QUOTE || raw.charCodeAt(end - 1) !== QUOTE) return null;
    for (let index = start + 1; index < end - 1; index++) {
      const code = raw.charCodeAt(index);
      if (code === QUOTE || code === BACKSLASH || code < 0x20) return this.readLiteral(raw.slice(start, end));
    }
    return raw.slice(start + 1, end - 1);
  }

  /** The string literal (quotes included) of a document `match` read, as the document wrote it. */
  literalOf(raw: string): string {
    return raw.slice(this.prefix.length, this.literalEnd(raw));
  }

  /** The free member's literal (quotes included) of a document `match` read; "" for a slot without one. */
  freeOf(raw: string): string {
    return this.tail === null ? "" : raw.slice(this.literalEnd(raw) + this.suffix.length, raw.length - this.tail.length);
  }

  /**
   * Where the slot's literal ends in `raw` when `raw` starts with the prefix and ends with the suffix (or
   * with the suffix, a free literal without escapes and the tail); −1 otherwise. The literal itself is
   * the caller's to check.
   */
  private literalEnd(raw: string): number {
    if (!raw.startsWith(this.prefix)) return -1;
    let suffixEnd = raw.length;
    if (this.tail !== null) {
      if (!raw.endsWith(this.tail)) return -1;
      const freeEnd = raw.length - this.tail.length;
      if (raw.charCodeAt(freeEnd - 1) !== QUOTE) return -1;
      // A literal without escapes holds no quote: the one before its closing quote opens it.
      let freeStart = freeEnd - 2;
      for (; freeStart > this.prefix.length; freeStart--) {
        const code = raw.charCodeAt(freeStart);
        if (code === QUOTE) break;
        if (code === BACKSLASH || code < 0x20) return -1;
      }
      suffixEnd = freeStart;
    }
    const end = suffixEnd - this.suffix.length;
    if (end < this.prefix.length || !raw.startsWith(this.suffix, end)) return -1;
    return end;
  }

  /** The value of a literal with escapes; null for something that is not one string literal (JSON.parse refuses it). */
  readLiteral(literal: string): string | null {
    try {
      const value: unknown = JSON.parse(literal);
      // A string value from text that starts and ends with a quote is exactly one string literal.
      return typeof value === "string" ? value : null;
    } catch {
      return null;
    }
  }
}
