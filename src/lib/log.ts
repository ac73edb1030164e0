/** JSON-lines logger on stderr. Values that look like secrets are redacted before they are written. */

export type LogLevel = "debug" | "info" | "warn" | "error";
export type LogFields = Record<string, string | number | boolean | null | undefined>;

export interface Logger {
  debug(msg: string, fields?: LogFields): void;
  info(msg: string, fields?: LogFields): void;
  warn(msg: string, fields?: LogFields): void;
  error(msg: string, fields?: LogFields): void;
}

const LEVEL_RANK: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };

// Tollgate keys, common provider key shapes, bearer tokens: never written out.
const SECRET_PATTERN = /(tg-(?:live|mgmt)-[A-Za-z0-9_-]{8,}|sk-[A-Za-z0-9_-]{8,}|Bearer\s+[A-Za-z0-9._~+/=-]{8,}|whsec_[A-Za-z0-9]{8,}|rk_[A-Za-z0-9_]{8,})/g;

/** The message of anything thrown, for a log field or an error text (never its stack). */
export function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

export function redact(text: string): string {
  return text.replace(SECRET_PATTERN, (match) => `${match.slice(0, 8)}…[redacted]`);
}

export function createLogger(
  minLevel: LogLevel = "info",
  write: (line: string) => void = (line) => process.stderr.write(line),
): Logger {
  const emit = (level: LogLevel, msg: string, fields?: LogFields) => {
    if (LEVEL_RANK[level] < LEVEL_RANK[minLevel]) return;
    const record: Record<string, unknown> = { time: new Date().toISOString(), level, msg: redact(msg) };
    if (fields) {
      for (const [name, value] of Object.entries(fields)) {
        if (value === undefined) continue;
        record[name] = typeof value === "string" ? redact(value) : value;
      }
    }
    write(`${JSON.stringify(record)}\n`);
  };
  return {
    debug: (msg, fields) => emit("debug", msg, fields),
    info: (msg, fields) => emit("info", msg, fields),
    warn: (msg, fields) => emit("warn", msg, fields),
    error: (msg, fields) => emit("error", msg, fields),
  };
}

export const silentLogger: Logger = { debug() {}, info() {}, warn() {}, error() {} };
