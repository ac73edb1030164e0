/**
 * Usage for a workspace's management key: recent generation records (newest first, keyset-paginated
 * by an opaque cursor), totals per UTC day, billed model or key (summed in SQL), and one record by
 * request id. Query parameters are checked strictly: an unknown one, or a bad value, is a 400.
 */

import type { RecentRequestsQuery, RequestPosition, RequestStatus, UsageGrouping } from "../db/repo/requests.ts";
import type { Deps } from "../deps.ts";
import { GatewayError } from "../errors.ts";
import { generationDocument, usageGroupDocument, type GenerationDocument, type UsageGroupDocument } from "./documents.ts";

export type UsageServiceDeps = Pick<Deps, "clock" | "repos">;

/** Query parameters as received (the last value of a repeated one). */
export type QueryParams = Readonly<Record<string, string>>;

const DAY_MS = 86_400_000;
const DEFAULT_LIMIT = 50;
const MAX_LIMIT = 200;
const DEFAULT_TOTALS_DAYS = 30;
const STATUSES: readonly RequestStatus[] = ["ok", "error", "refused"];
const GROUPINGS: readonly UsageGrouping[] = ["day", "model", "key"];

export interface RecentUsageDocument {
  data: GenerationDocument[];
  /** Pass as `cursor` for the next (older) page; null on the last page. */
  next_cursor: string | null;
}

function invalid(param: string, message: string): GatewayError {
  return new GatewayError("invalid_request", `Invalid request: '${param}' ${message}.`, { param });
}

function refuseUnknown(query: QueryParams, known: readonly string[]): void {
  const unknown = Object.keys(query).find((name) => !known.includes(name));
  if (unknown !== undefined) throw invalid(unknown, `is not a known query parameter (expected ${known.join(", ")})`);
}

/** Non-empty value of a parameter, or undefined when it is absent or empty. */
function param(query: QueryParams, name: string): string | undefined {
  const value = query[name]?.trim();
  return value === undefined || value === "" ? undefined : value;
}

const ISO_8601 = /^(\d{4})-(\d{2})-(\d{2})(T\d{2}:\d{2}(?::\d{2}(?:\.\d{1,9})?)?(Z|[+-]\d{2}:\d{2})?)?$/;

/**
 * An ISO 8601 date or date-time → ms. A date alone is that day's start in UTC, and so is a date-time
 * without an offset (UTC is the API's time zone).
 */
export function parseIsoTime(text: string, name: string): number {
  const match = ISO_8601.exec(text);
  if (!match) throw invalid(name, "must be an ISO 8601 date or date-time, like 2026-01-31 or 2026-01-31T12:00:00Z");
  const [year, month, day] = [Number(match[1]), Number(match[2]), Number(match[3])];
  const hasTime = match[4] !== undefined;
  const hasOffset = match[5] !== undefined;
  const ms = Date.parse(hasTime ? (hasOffset ? text : `${text}Z`) : `${text}T00:00:00Z`);
  // Date.parse rolls 2026-02-30 over to March; the calendar check refuses it.
  const daysInMonth = month >= 1 && month <= 12 ? new Date(Date.UTC(year, month, 0)).getUTCDate() : 0;
  if (Number.isNaN(ms) || day < 1 || day > daysInMonth) throw invalid(name, `is not a valid date-time: ${text}`);
  return ms;
}

function timeRange(query: QueryParams): { fromMs: number | undefined; toMs: number | undefined } {
  const from = param(query, "from");
  const to = param(query, "to");
  const fromMs = from === undefined ? undefined : parseIsoTime(from, "from");
  const toMs = to === undefined ? undefined : parseIsoTime(to, "to");
  if (fromMs !== undefined && toMs !== undefined && fromMs >= toMs) throw invalid("to", "must be later than 'from'");
  return { fromMs, toMs };
}

function parseLimit(text: string | undefined): number {
  if (text === undefined) return DEFAULT_LIMIT;
  const limit = /^\d{1,4}$/.test(text) ? Number(text) : Number.NaN;
  if (!(limit >= 1 && limit <= MAX_LIMIT)) throw invalid("limit", `must be an integer from 1 to ${MAX_LIMIT}`);
  return limit;
}

/** The cursor is the last row's (created_at, request_id), as base64url JSON: opaque to clients. */
function encodeCursor(position: RequestPosition): string {
  return Buffer.from(JSON.stringify([position.createdAt, position.requestId])).toString("base64url");
}

function decodeCursor(text: string): RequestPosition {
  try {
    const parsed: unknown = JSON.parse(Buffer.from(text, "base64url").toString("utf8"));
    if (Array.isArray(parsed) && parsed.length === 2 && Number.isSafeInteger(parsed[0]) && typeof parsed[1] === "string")
      return { createdAt: parsed[0] as number, requestId: parsed[1] };
  } catch {
    // fall through to the 400
  }
  throw invalid("cursor", "is not a cursor this API returned");
}

/** `GET /v1/usage/recent`: records newest first, `limit` per page, filtered by key, model, status and time. */
export async function recentUsage(deps: UsageServiceDeps, workspaceId: string, query: QueryParams): Promise<RecentUsageDocument> {
  refuseUnknown(query, ["limit", "cursor", "key_id", "model", "status", "from", "to"]);
  const limit = parseLimit(param(query, "limit"));
  const cursor = param(query, "cursor");
  const status = param(query, "status");
  if (status !== undefined && !STATUSES.includes(status as RequestStatus)) throw invalid("status", `must be one of ${STATUSES.join(", ")}`);
  const { fromMs, toMs } = timeRange(query);
  const keyId = param(query, "key_id");
  const model = param(query, "model");
  const filter: RecentRequestsQuery = {
    workspaceId,
    limit: limit + 1,
    after: cursor === undefined ? null : decodeCursor(cursor),
    ...(keyId !== undefined ? { keyId } : {}),
    ...(model !== undefined ? { model } : {}),
    ...(status !== undefined ? { status: status as RequestStatus } : {}),
    ...(fromMs !== undefined ? { fromMs } : {}),
    ...(toMs !== undefined ? { toMs } : {}),
  };
  const rows = await deps.repos.requests.listRecent(filter);
  const page = rows.slice(0, limit);
  const last = page.at(-1);
  return {
    data: page.map(generationDocument),
    next_cursor: rows.length > limit && last ? encodeCursor({ createdAt: last.createdAt, requestId: last.requestId }) : null,
  };
}

/** `GET /v1/usage`: totals per group over [from, to); by default the last 30 days, per UTC day. */
export async function usageTotals(deps: UsageServiceDeps, workspaceId: string, query: QueryParams): Promise<{ data: UsageGroupDocument[] }> {
  refuseUnknown(query, ["from", "to", "group_by"]);
  const groupBy = param(query, "group_by") ?? "day";
  if (!GROUPINGS.includes(groupBy as UsageGrouping)) throw invalid("group_by", `must be one of ${GROUPINGS.join(", ")}`);
  const { fromMs, toMs } = timeRange(query);
  const from = fromMs ?? (toMs ?? deps.clock.now()) - DEFAULT_TOTALS_DAYS * DAY_MS;
  const totals = await deps.repos.requests.totals(workspaceId, groupBy as UsageGrouping, from, toMs ?? null);
  return { data: totals.map(usageGroupDocument) };
}

/** `GET /v1/generations/{request_id}`: 404 for unknown ids and other workspaces' records alike. */
export async function generation(deps: UsageServiceDeps, workspaceId: string, requestId: string): Promise<GenerationDocument> {
  const row = await deps.repos.requests.findInWorkspace(workspaceId, requestId);
  if (!row) throw new GatewayError("not_found", `No generation with request id '${requestId}' in this workspace.`);
  return generationDocument(row);
}
