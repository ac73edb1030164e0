/**
 * Usage through the management key: recent generation records (newest first, keyset pages, filters),
 * totals per UTC day / billed model / key checked against the requests table, and one generation
 * record equal to the figures its call reported — all from real calls through the gateway.
 */

import { afterEach, describe, expect, test } from "bun:test";
import OpenAI from "openai";
import { ManualClock } from "../../src/lib/clock.ts";
import { rows, type TestGateway } from "../harness/gateway.ts";
import { startMatrix, type MatrixSetup } from "../harness/matrix.ts";
import { openaiClient } from "../harness/sdk.ts";
import { call, chat, startManagedGateway, withManagement, type OpenAIErrorBody } from "./management-harness.ts";

let gateway: TestGateway | null = null;
let matrix: MatrixSetup | null = null;
afterEach(async () => {
  await gateway?.close();
  await matrix?.close();
  gateway = null;
  matrix = null;
});

interface Generation {
  request_id: string;
  created_at: string;
  key_id: string;
  model: string;
  billed_model: string | null;
  provider: string | null;
  upstream_model: string | null;
  route: string | null;
  client_dialect: string;
  upstream_dialect: string | null;
  stream: boolean;
  status: "ok" | "error" | "refused";
  http_status: number;
  error_code: string | null;
  usage: { input_tokens: number; output_tokens: number; cache_read_tokens: number; cache_creation_tokens: number; reasoning_tokens: number };
  cost_microcents: number;
  latency_ms: number;
  ttft_ms: number | null;
  attempts: Array<{ model: string; provider: string; error_code: string | null }>;
  byok: boolean;
  translated_from: string | null;
}

interface Page {
  data: Generation[];
  next_cursor: string | null;
}

interface Group {
  group: string;
  requests: number;
  input_tokens: number;
  output_tokens: number;
  cache_read_tokens: number;
  cache_creation_tokens: number;
  reasoning_tokens: number;
  cost_microcents: number;
}

interface RequestRecord {
  request_id: string;
  created_at: number;
  key_id: string;
  model: string;
  billed_model: string | null;
  status: string;
  input_tokens: number;
  output_tokens: number;
  cache_read_tokens: number;
  cache_creation_tokens: number;
  reasoning_tokens: number;
  cost_microcents: number;
}

async function newLiveKey(g: TestGateway, name: string): Promise<{ id: string; key: string }> {
  const created = await call<{ id: string; key: string }>(g, "POST", "/v1/keys", { body: { name } });
  return created.body;
}

/** Every record of the workspace, newest first, as the API must order them. */
async function recordsNewestFirst(g: TestGateway): Promise<RequestRecord[]> {
  return (await rows<RequestRecord>(g, "SELECT * FROM requests WHERE workspace_id = ? ORDER BY created_at DESC, request_id DESC", g.workspaceId));
}

async function allPages(g: TestGateway, query: string): Promise<{ ids: string[]; pages: number[] }> {
  const ids: string[] = [];
  const pages: number[] = [];
  let cursor: string | null = null;
  do {
    const path: string = `/v1/usage/recent?${query}${cursor ? `&cursor=${cursor}` : ""}`;
    const page: Page = (await call<Page>(g, "GET", path)).body;
    pages.push(page.data.length);
    ids.push(...page.data.map((record) => record.request_id));
    cursor = page.next_cursor;
  } while (cursor !== null && pages.length < 50);
  return { ids, pages };
}

describe("GET /v1/usage/recent", () => {
  test("keyset pages over more rows than the limit: newest first, no gaps, no repeats, cursor null at the end", async () => {
    gateway = await startManagedGateway();
    for (let index = 0; index < 8; index++) expect((await chat(gateway, gateway.liveKey, `call ${index}`)).status).toBe(200);
    const expected = (await recordsNewestFirst(gateway)).map((record) => record.request_id);
    expect(expected).toHaveLength(8);

    const paged = await allPages(gateway, "limit=3");
    expect(paged.pages).toEqual([3, 3, 2]);
    expect(paged.ids).toEqual(expected);

    const whole = (await call<Page>(gateway, "GET", "/v1/usage/recent")).body;
    expect(whole.data.map((record) => record.request_id)).toEqual(expected);
    expect(whole.next_cursor).toBeNull();
    const exact = (await call<Page>(gateway, "GET", "/v1/usage/recent?limit=8")).body;
    expect(exact.next_cursor).toBeNull();
    const one = (await call<Page>(gateway, "GET", "/v1/usage/recent?limit=1")).body;
    expect(one.data.map((record) => record.request_id)).toEqual(expected.slice(0, 1));
    expect(one.next_cursor).toMatch(/^[A-Za-z0-9_-]+$/);
  });

  test("filters: key_id, model (as sent or as billed), status, from/to — each page set equals the matching rows", async () => {
    const clock = new ManualClock(Date.UTC(2026, 2, 1, 12));
    matrix = await startMatrix({ grantUsd: 0.002, clock });
    gateway = withManagement(matrix.gateway);
    const g = gateway;
    const second = await newLiveKey(g, "second");
    expect((await chat(g, g.liveKey, "a", "via-mock", { max_tokens: 10 })).status).toBe(200);
    clock.advance(60_000);
    expect((await chat(g, second.key, "b", "via-mock", { max_tokens: 10 })).status).toBe(200);
    clock.advance(60_000);
    matrix.openaiUpstream.script({ kind: "json", status: 500, body: { error: { message: "boom", type: "server_error" } } });
    expect((await chat(g, second.key, "c", "via-openai", { max_tokens: 10 })).status).toBe(502);
    clock.advance(60_000);
    // Too little money for 4096 output tokens: refused (402) and recorded at cost 0.
    expect((await chat(g, g.liveKey, "d", "via-mock", { max_tokens: 4096 })).status).toBe(402);

    const all = await recordsNewestFirst(g);
    expect(all.map((record) => record.status)).toEqual(["refused", "error", "ok", "ok"]);
    const ids = (predicate: (record: RequestRecord) => boolean) => all.filter(predicate).map((record) => record.request_id);
    const minute = (n: number) => new Date(Date.UTC(2026, 2, 1, 12, n)).toISOString();
    const cases: Array<[string, string[]]> = [
      [`key_id=${second.id}`, ids((record) => record.key_id === second.id)],
      ["model=via-mock", ids((record) => record.model === "via-mock")],
      ["model=via-openai", ids((record) => record.model === "via-openai")],
      ["status=ok", ids((record) => record.status === "ok")],
      ["status=error", ids((record) => record.status === "error")],
      ["status=refused", ids((record) => record.status === "refused")],
      [`from=${minute(1)}`, all.slice(0, 3).map((record) => record.request_id)],
      [`to=${minute(1)}`, all.slice(3).map((record) => record.request_id)],
      [`from=${minute(1)}&to=${minute(3)}`, all.slice(1, 3).map((record) => record.request_id)],
      ["from=2026-03-01&to=2026-03-02", all.map((record) => record.request_id)],
      ["from=2026-03-02", []],
      [`key_id=${second.id}&status=ok`, ids((record) => record.key_id === second.id && record.status === "ok")],
      ["model=nothing-like-it", []],
    ];
    for (const [query, expected] of cases) {
      expect([query, (await allPages(g, `limit=1&${query}`)).ids]).toEqual([query, expected]);
    }

    const [refused, failed] = (await call<Page>(g, "GET", "/v1/usage/recent?limit=2")).body.data;
    expect(refused).toMatchObject({ status: "refused", http_status: 402, error_code: "insufficient_balance", cost_microcents: 0 });
    expect(failed).toMatchObject({ status: "error", http_status: 502, cost_microcents: 0, model: "via-openai" });
    expect(failed?.attempts).toEqual([{ model: "via-openai", provider: "fake-openai", error_code: "upstream_error" }]);
  });

  test("the billed model matches as well as the id the client sent", async () => {
    gateway = await startManagedGateway();
    await chat(gateway, gateway.liveKey, "x", "gpt-4o-mini");
    await chat(gateway, gateway.liveKey, "y", "mock-filler");
    const byAlias = (await call<Page>(gateway, "GET", "/v1/usage/recent?model=gpt-4o-mini")).body.data;
    const byBilled = (await call<Page>(gateway, "GET", "/v1/usage/recent?model=mock-model")).body.data;
    expect(byAlias.map((record) => record.model)).toEqual(["gpt-4o-mini"]);
    expect(byBilled.map((record) => [record.model, record.billed_model])).toEqual([["gpt-4o-mini", "mock-model"]]);
  });

  test.each([
    ["limit=0", "limit"],
    ["limit=201", "limit"],
    ["limit=ten", "limit"],
    ["limit=2.5", "limit"],
    ["cursor=not-a-cursor", "cursor"],
    [`cursor=${Buffer.from('{"a":1}').toString("base64url")}`, "cursor"],
    ["status=failed", "status"],
    ["from=yesterday", "from"],
    ["from=2026-02-30", "from"],
    ["to=2026-01-01T25:00:00Z", "to"],
    ["from=2026-02-01&to=2026-01-01", "to"],
    ["page=2", "page"],
  ])("?%s → 400 invalid_request naming %s", async (query, param) => {
    gateway = await startManagedGateway();
    const response = await call<OpenAIErrorBody>(gateway, "GET", `/v1/usage/recent?${query}`);
    expect(response.status).toBe(400);
    expect(response.body.error).toMatchObject({ code: "invalid_request", param });
    expect(response.body.error.message).toContain(`'${param}'`);
  });

  test("another workspace's records never show", async () => {
    gateway = await startManagedGateway();
    const other = await gateway.deps.repos.workspaces.create("other", Date.now());
    const mgmt = await gateway.deps.repos.keys.create({ workspaceId: other.id, kind: "mgmt", name: "m", nowMs: Date.now() });
    await chat(gateway, gateway.liveKey);
    expect((await call<Page>(gateway, "GET", "/v1/usage/recent", { key: mgmt.key })).body).toEqual({ data: [], next_cursor: null });
    expect((await call<{ data: Group[] }>(gateway, "GET", "/v1/usage", { key: mgmt.key })).body).toEqual({ data: [] });
  });
});

describe("GET /v1/usage", () => {
  /** Calls on three UTC days (one of them 40 days back) with two keys and two models. */
  async function spreadCalls(): Promise<{ g: TestGateway; second: { id: string; key: string } }> {
    const clock = new ManualClock(Date.UTC(2026, 0, 1, 23, 59));
    gateway = await startManagedGateway({ clock });
    const g = gateway;
    const second = await newLiveKey(g, "second");
    await chat(g, g.liveKey, "long ago");
    clock.advance(40 * 86_400_000); // 2026-02-10 23:59
    await chat(g, g.liveKey, "one two three", "gpt-4o-mini");
    await chat(g, second.key, "four five", "mock-filler");
    clock.advance(2 * 60_000); // 2026-02-11 00:01 — a new UTC day
    await chat(g, second.key, "six", "mock-model");
    // A stream settles when it is read to the end.
    await (await chat(g, g.liveKey, "seven eight nine ten", "mock-filler", { stream: true })).text();
    clock.advance(60 * 60_000);
    return { g, second };
  }

  /** The expected totals, summed here from the rows, for records in [fromMs, toMs). */
  async function expectedTotals(g: TestGateway, groupOf: (record: RequestRecord) => string, fromMs: number, toMs = Number.POSITIVE_INFINITY): Promise<Group[]> {
    const groups = new Map<string, Group>();
    for (const record of await recordsNewestFirst(g)) {
      if (record.created_at < fromMs || record.created_at >= toMs) continue;
      const key = groupOf(record);
      const group = groups.get(key) ?? { group: key, requests: 0, input_tokens: 0, output_tokens: 0, cache_read_tokens: 0, cache_creation_tokens: 0, reasoning_tokens: 0, cost_microcents: 0 };
      group.requests += 1;
      group.input_tokens += record.input_tokens;
      group.output_tokens += record.output_tokens;
      group.cache_read_tokens += record.cache_read_tokens;
      group.cache_creation_tokens += record.cache_creation_tokens;
      group.reasoning_tokens += record.reasoning_tokens;
      group.cost_microcents += record.cost_microcents;
      groups.set(key, group);
    }
    return [...groups.values()].sort((a, b) => (a.group < b.group ? -1 : a.group > b.group ? 1 : 0));
  }

  const day = (record: RequestRecord) => new Date(record.created_at).toISOString().slice(0, 10);
  const LAST_30_DAYS = Date.UTC(2026, 1, 11, 1, 1) - 30 * 86_400_000;

  test("by day (the default): UTC days of the last 30 days, sums equal to the requests table", async () => {
    const { g } = await spreadCalls();
    const response = await call<{ data: Group[] }>(g, "GET", "/v1/usage");
    expect(response.status).toBe(200);
    expect(response.body.data.map((group) => [group.group, group.requests])).toEqual([
      ["2026-02-10", 2],
      ["2026-02-11", 2],
    ]);
    expect(response.body.data).toEqual(await expectedTotals(g, day, LAST_30_DAYS));
    expect(response.body.data.every((group) => group.cost_microcents > 0 && group.output_tokens > 0)).toBe(true);
    expect((await call<{ data: Group[] }>(g, "GET", "/v1/usage?group_by=day")).body).toEqual(response.body);
  });

  test("by model: the billed model (an alias counts for its profile)", async () => {
    const { g } = await spreadCalls();
    const data = (await call<{ data: Group[] }>(g, "GET", "/v1/usage?group_by=model")).body.data;
    expect(data.map((group) => [group.group, group.requests])).toEqual([
      ["mock-filler", 2],
      ["mock-model", 2],
    ]);
    expect(data).toEqual(await expectedTotals(g, (record) => record.billed_model ?? record.model, LAST_30_DAYS));
  });

  test("by key", async () => {
    const { g, second } = await spreadCalls();
    const data = (await call<{ data: Group[] }>(g, "GET", "/v1/usage?group_by=key")).body.data;
    expect(data).toEqual(await expectedTotals(g, (record) => record.key_id, LAST_30_DAYS));
    expect(data.find((group) => group.group === second.id)?.requests).toBe(2);
  });

  test("an explicit range: from inclusive, to exclusive, the old call included", async () => {
    const { g } = await spreadCalls();
    const everything = (await call<{ data: Group[] }>(g, "GET", "/v1/usage?from=2026-01-01&group_by=model")).body.data;
    expect(everything).toEqual(await expectedTotals(g, (record) => record.billed_model ?? record.model, 0));
    expect(everything.reduce((sum, group) => sum + group.requests, 0)).toBe(5);
    const firstDay = (await call<{ data: Group[] }>(g, "GET", "/v1/usage?from=2026-01-01&to=2026-02-11")).body.data;
    expect(firstDay.map((group) => [group.group, group.requests])).toEqual([
      ["2026-01-01", 1],
      ["2026-02-10", 2],
    ]);
    const toOnly = (await call<{ data: Group[] }>(g, "GET", "/v1/usage?to=2026-02-11T00:00:00Z")).body.data;
    expect(toOnly.map((group) => group.group)).toEqual(["2026-02-10"]);
  });

  test.each([
    ["group_by=week", "group_by"],
    ["from=last-month", "from"],
    ["from=2026-02-01&to=2026-02-01", "to"],
    ["limit=5", "limit"],
  ])("?%s → 400 naming %s", async (query, param) => {
    gateway = await startManagedGateway();
    const response = await call<OpenAIErrorBody>(gateway, "GET", `/v1/usage?${query}`);
    expect(response.status).toBe(400);
    expect(response.body.error).toMatchObject({ code: "invalid_request", param });
  });
});

describe("GET /v1/generations/{request_id}", () => {
  test("a non-stream call: the record equals the figures in the response headers", async () => {
    gateway = await startManagedGateway();
    const { data: completion, response } = await openaiClient(gateway)
      .chat.completions.create({ model: "gpt-4o-mini", messages: [{ role: "user", content: "count these words please" }] })
      .withResponse();
    const requestId = response.headers.get("x-tollgate-request-id") ?? "";
    const doc = (await call<Generation>(gateway, "GET", `/v1/generations/${requestId}`)).body;
    const header = (name: string) => Number(response.headers.get(`x-tollgate-${name}`));
    expect(doc).toMatchObject({
      request_id: requestId,
      key_id: (await rows<{ id: string }>(gateway, "SELECT id FROM keys WHERE kind = 'live'"))[0]?.id,
      model: "gpt-4o-mini",
      billed_model: response.headers.get("x-tollgate-billed-model"),
      provider: "mock",
      upstream_model: "echo",
      route: "auto",
      client_dialect: "openai",
      upstream_dialect: "mock",
      stream: false,
      status: "ok",
      http_status: 200,
      error_code: null,
      usage: {
        input_tokens: header("tokens-input"),
        output_tokens: header("tokens-output"),
        cache_read_tokens: header("tokens-cache-read"),
        cache_creation_tokens: header("tokens-cache-creation"),
        reasoning_tokens: header("tokens-reasoning"),
      },
      cost_microcents: header("cost-microcents"),
      byok: false,
      translated_from: null,
    });
    expect(doc.usage.output_tokens).toBe(completion.usage?.completion_tokens ?? -1);
    expect(doc.cost_microcents).toBeGreaterThan(0);
    expect(doc.created_at).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/);
    expect(doc.latency_ms).toBeGreaterThanOrEqual(0);
    const charge = (await rows<{ amount_microcents: number }>(gateway, "SELECT amount_microcents FROM ledger_entries WHERE request_id = ?", requestId));
    expect(charge).toEqual([{ amount_microcents: -doc.cost_microcents }]);
    // usage/recent shows the very same document.
    expect((await call<Page>(gateway, "GET", "/v1/usage/recent?limit=1")).body.data[0]).toEqual(doc);
  });

  test("a stream: the record equals the tollgate object of the usage chunk; attempts end with the serving one", async () => {
    gateway = await startManagedGateway();
    const stream = await openaiClient(gateway).chat.completions.create({
      model: "mock-model",
      stream: true,
      stream_options: { include_usage: true },
      messages: [{ role: "user", content: "one two three" }],
    });
    type Summary = { request_id: string; model: string; cost_microcents: number; usage: Generation["usage"] };
    let summary: Summary | null = null;
    for await (const chunk of stream as AsyncIterable<OpenAI.Chat.Completions.ChatCompletionChunk & { tollgate?: Summary }>) {
      if (chunk.tollgate) summary = chunk.tollgate;
    }
    expect(summary).not.toBeNull();
    const doc = (await call<Generation>(gateway, "GET", `/v1/generations/${summary?.request_id}`)).body;
    expect({ request_id: doc.request_id, model: doc.billed_model, cost_microcents: doc.cost_microcents, usage: doc.usage }).toEqual(summary as Summary);
    expect(doc).toMatchObject({ stream: true, status: "ok", model: "mock-model" });
    expect(doc.attempts.at(-1)).toEqual({ model: "mock-model", provider: "mock", error_code: null });
    expect(doc.ttft_ms).not.toBeNull();
  });

  test("unknown ids and other workspaces' records → 404 not_found", async () => {
    gateway = await startManagedGateway();
    const other = await gateway.deps.repos.workspaces.create("other", Date.now());
    const otherMgmt = await gateway.deps.repos.keys.create({ workspaceId: other.id, kind: "mgmt", name: "m", nowMs: Date.now() });
    const requestId = (await chat(gateway, gateway.liveKey)).headers.get("x-tollgate-request-id") ?? "";
    for (const [key, path] of [
      [otherMgmt.key, `/v1/generations/${requestId}`],
      [gateway.mgmtKey, "/v1/generations/req_unknown"],
    ] as const) {
      const response = await call<OpenAIErrorBody>(gateway, "GET", path, { key });
      expect(response.status).toBe(404);
      expect(response.body.error.code).toBe("not_found");
      expect(response.headers.get("x-tollgate-request-id")).toMatch(/^req_/);
    }
    expect((await call(gateway, "GET", `/v1/generations/${requestId}`)).status).toBe(200);
  });
});
