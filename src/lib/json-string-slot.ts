/**
 * A JSON document with one string member left open: learned from a document the caller parsed, it
 * reads later documents that repeat it byte for byte around another plain string literal without
 * JSON.parse (an upstream's stream chunks differ only in their delta text). Exact by construction:
 * anything else is not a match, and the caller parses as before.
 */

/**
 * A copy of a slice that does not keep the sliced string alive: JSC's substrings share their base, so a
 * slot's prefix would hold a whole upstream read (up to ~100 KB) for the stream's lifetime.
 */
function detached(text: string): string {
  return JSON.parse(JSON.stringify(text)) as string;
}

/** A string no upstream sends: it marks the slot while the template is verified. */
const SENTINEL = "\u0000tollgate-slot\u0001";
const QUOTE = 34;
const BACKSLASH = 92;

export class JsonStringSlot {
  private constructor(
    /** The document's text before the slot's string literal (up to and including the member's colon). */
    readonly prefix: string,
    /** The document's text after the literal. */
    readonly suffix: string,
  ) {}

  /**
   * The template of `raw` with the string `value` as its slot. `read` finds the slot's member in a
   * parsed document. Learning costs one parse and two serialisations, and succeeds only when it is
   * proven: `value`'s literal occurs exactly once in `raw`, and the document with another string in
   * its place parses to the same value apart from that member.
   */
  static learn(raw: string, parsed: unknown, value: string, read: (document: unknown) => unknown, write: (document: unknown, value: string) => void): JsonStringSlot | null {
    const literal = JSON.stringify(value);
    const at = raw.indexOf(literal);
    if (at === -1 || raw.indexOf(literal, at + 1) !== -1) return null;
    const prefix = raw.slice(0, at);
    const suffix = raw.slice(at + literal.length);
    let probe: unknown;
    try {
      probe = JSON.parse(`${prefix}${JSON.stringify(SENTINEL)}${suffix}`);
    } catch {
      return null;
    }
    if (read(probe) !== SENTINEL) return null;
    write(probe, value);
    // Key order survives JSON.parse, so equal documents serialise to equal text.
    if (JSON.stringify(probe) !== JSON.stringify(parsed)) return null;
    return new JsonStringSlot(detached(prefix), detached(suffix));
  }

  /**
   * The slot's string when `raw` is this template around a string literal; null when it is not (then
   * parse `raw`). A literal without escapes is read as it is; one with escapes through JSON.parse of
   * the literal alone.
   */
  match(raw: string): string | null {
    const start = this.prefix.length;
    const end = raw.length - this.suffix.length;
    if (end - start < 2 || !raw.startsWith(this.prefix) || !raw.endsWith(this.suffix)) return null;
    if (raw.charCodeAt(start) !== QUOTE || raw.charCodeAt(end - 1) !== QUOTE) return null;
    for (let index = start + 1; index < end - 1; index++) {
      const code = raw.charCodeAt(index);
      if (code === QUOTE || code === BACKSLASH || code < 0x20) return this.readLiteral(raw.slice(start, end));
    }
    return raw.slice(start + 1, end - 1);
  }

  /** The string literal (quotes included) of a document `match` read, as the document wrote it. */
  literalOf(raw: string): string {
    return raw.slice(this.prefix.length, raw.length - this.suffix.length);
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
