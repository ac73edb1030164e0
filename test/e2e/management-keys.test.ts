/**
 * Key management with a management key: create, list, show, change, revoke; strict bodies; keys of
 * other workspaces are invisible; a change reaches authentication at once in this process (key cache
 * eviction) and within key_cache_ttl_ms when another process writes the database.
 */

import { afterEach, describe, expect, test } from "bun:test";
import { hashKey } from "../../src/keys/keys.ts";
import { managementRoutes } from "../../src/management/routes.ts";
import { MOCK_CONFIG, rows, type TestGateway } from "../harness/gateway.ts";
import { call, chat, POOL_CONFIG, startManagedGateway, type OpenAIErrorBody } from "./management-harness.ts";

let gateway: TestGateway | null = null;
afterEach(async () => {
  await gateway?.close();
  gateway = null;
});

interface KeyDoc {
  id: string;
  name: string;
  kind: "live" | "mgmt";
  key?: string;
  prefix: string;
  route: string | null;
  usage_event: boolean | null;
  disabled: boolean;
  revoked: boolean;
  revoked_at: string | null;
  created_at: string;
}

interface KeyRowRecord {
  id: string;
  workspace_id: string;
  name: string;
  kind: string;
  hash: string;
  prefix: string;
  route: string | null;
  usage_event: number | null;
  disabled: number;
  revoked_at: number | null;
}

const ISO = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;

/** A second workspace with its own management and inference keys, made the way the CLI makes them. */
async function otherWorkspace(g: TestGateway): Promise<{ id: string; mgmtKey: string; liveKeyId: string }> {
  const now = g.deps.clock.now();
  const workspace = await g.deps.repos.workspaces.create("other", now);
  const mgmt = await g.deps.repos.keys.create({ workspaceId: workspace.id, kind: "mgmt", name: "m", nowMs: now });
  const live = await g.deps.repos.keys.create({ workspaceId: workspace.id, kind: "live", name: "l", nowMs: now });
  return { id: workspace.id, mgmtKey: mgmt.key, liveKeyId: live.row.id };
}

describe("POST /v1/keys", () => {
  test.each([
    ["defaults: an inference key", { name: "ci" }, { kind: "live", route: null, usage_event: null }],
    ["a management key", { name: "ops", kind: "mgmt" }, { kind: "mgmt", route: null, usage_event: null }],
    ["a pinned pool route and usage events", { name: "batch", route: "pool:economy", usage_event: true }, { kind: "live", route: "pool:economy", usage_event: true }],
    ["route text is normalized", { name: "fast", route: "  fastest ", usage_event: false }, { kind: "live", route: "fastest", usage_event: false }],
    ["explicit nulls inherit", { name: "n", route: null, usage_event: null }, { kind: "live", route: null, usage_event: null }],
  ])("%s → 201, the key shown once, only its hash stored", async (_name, body, expected) => {
    gateway = await startManagedGateway({ configToml: POOL_CONFIG });
    const response = await call<KeyDoc>(gateway, "POST", "/v1/keys", { body });
    expect(response.status).toBe(201);
    expect(response.headers.get("x-tollgate-request-id")).toMatch(/^req_/);
    const doc = response.body;
    expect(doc).toMatchObject({ name: body.name, disabled: false, revoked: false, revoked_at: null, ...expected });
    expect(Object.keys(doc).slice(0, 4)).toEqual(["id", "name", "kind", "key"]);
    expect(doc.key).toMatch(new RegExp(`^tg-${expected.kind}-[A-Za-z0-9_-]{43}$`));
    expect(doc.prefix).toBe((doc.key ?? "").slice(0, 12));
    expect(doc.created_at).toMatch(ISO);

    const [row] = (await rows<KeyRowRecord>(gateway, "SELECT * FROM keys WHERE id = ?", doc.id));
    expect(row).toMatchObject({ workspace_id: gateway.workspaceId, kind: expected.kind, hash: hashKey(doc.key ?? ""), route: expected.route });
    expect(JSON.stringify((await rows(gateway, "SELECT * FROM keys")))).not.toContain(doc.key ?? "-");
    // Never shown again.
    const again = await call<KeyDoc>(gateway, "GET", `/v1/keys/${doc.id}`);
    expect(again.body.key).toBeUndefined();
    expect(again.body).toEqual({ ...doc, key: undefined } as unknown as KeyDoc);
  });

  test("a new inference key works for inference at once; a new management key for management", async () => {
    gateway = await startManagedGateway();
    const live = await call<KeyDoc>(gateway, "POST", "/v1/keys", { body: { name: "live" } });
    expect((await chat(gateway, live.body.key ?? "")).status).toBe(200);
    const mgmt = await call<KeyDoc>(gateway, "POST", "/v1/keys", { body: { name: "m", kind: "mgmt" } });
    expect((await call(gateway, "GET", "/v1/workspace", { key: mgmt.body.key ?? "" })).status).toBe(200);
    expect((await chat(gateway, mgmt.body.key ?? "")).status).toBe(401);
  });

  test.each([
    ["an unknown field", { name: "x", scopes: ["all"] }, "scopes", /'scopes' is not a known field/],
    ["a missing name", {}, "name", /'name' is required/],
    ["a name of the wrong type", { name: 5 }, "name", /'name' must be a string/],
    ["an empty name", { name: "" }, "name", /'name' must not be empty/],
    ["a blank name", { name: "   " }, "name", /'name' must not be blank/],
    ["an unknown kind", { name: "x", kind: "admin" }, "kind", /'kind' must be "live" or "mgmt"/],
    ["a route that is not one", { name: "x", route: "quickest" }, "route", /'route' must be auto, cheapest, fastest or pool:<slug>/],
    ["a pool nobody is in", { name: "x", route: "pool:premium" }, "route", /no provider is in pool 'premium'/],
    ["a route of the wrong type", { name: "x", route: 7 }, "route", /'route' must be a string or null/],
    ["usage_event as a string", { name: "x", usage_event: "yes" }, "usage_event", /'usage_event' must be true or false or null/],
  ])("%s → 400 invalid_request naming the field", async (_name, body, param, message) => {
    gateway = await startManagedGateway({ configToml: POOL_CONFIG });
    const before = (await rows(gateway, "SELECT id FROM keys")).length;
    const response = await call<OpenAIErrorBody>(gateway, "POST", "/v1/keys", { body });
    expect(response.status).toBe(400);
    expect(response.body.error).toMatchObject({ code: "invalid_request", type: "invalid_request_error", param });
    expect(response.body.error.message).toMatch(message);
    expect(response.body.error.message).not.toMatch(/[{}]|\bat\s/);
    expect(response.headers.get("x-tollgate-request-id")).toMatch(/^req_/);
    expect((await rows(gateway, "SELECT id FROM keys"))).toHaveLength(before);
  });

  test.each([
    ["not JSON", "{name:", /not valid JSON/],
    ["an array", "[]", /must be a JSON object/],
    ["null", "null", /must be a JSON object/],
  ])("a body that is %s → 400", async (_name, body, message) => {
    gateway = await startManagedGateway();
    const response = await call<OpenAIErrorBody>(gateway, "POST", "/v1/keys", { body });
    expect(response.status).toBe(400);
    expect(response.body.error.code).toBe("invalid_request");
    expect(response.body.error.message).toMatch(message);
  });

  test("a body above max_body_bytes → 413", async () => {
    gateway = await startManagedGateway({ configToml: `[server]\nmax_body_bytes = 100\n${MOCK_CONFIG}` });
    const response = await call<OpenAIErrorBody>(gateway, "POST", "/v1/keys", { body: { name: "x".repeat(200) } });
    expect(response.status).toBe(413);
    expect(response.body.error.code).toBe("body_too_large");
  });
});

describe("authentication", () => {
  test.each([
    ["an inference key", (g: TestGateway) => g.liveKey, /management key/],
    ["no key", () => null, /Missing API key.*management key/],
    ["an unknown key", () => `tg-mgmt-${"x".repeat(43)}`, /Invalid API key/],
  ])("%s → 401 invalid_api_key on every endpoint, checked before the body", async (_name, keyOf, message) => {
    gateway = await startManagedGateway();
    const g = gateway;
    const endpoints: Array<[string, string, unknown]> = [
      ["POST", "/v1/keys", { bogus: true }],
      ["GET", "/v1/keys", undefined],
      ["GET", "/v1/keys/key_x", undefined],
      ["PATCH", "/v1/keys/key_x", "{not json"],
      ["DELETE", "/v1/keys/key_x", undefined],
      ["GET", "/v1/workspace", undefined],
      ["PATCH", "/v1/workspace", { daily_cap_usd: -1 }],
      ["GET", "/v1/wallet", undefined],
      ["GET", "/v1/usage/recent?limit=0", undefined],
      ["GET", "/v1/usage?group_by=week", undefined],
      ["GET", "/v1/generations/req_x", undefined],
    ];
    for (const [method, path, body] of endpoints) {
      const response = await call<OpenAIErrorBody>(g, method, path, { key: keyOf(g), body });
      expect([method, path, response.status]).toEqual([method, path, 401]);
      expect(response.body.error.code).toBe("invalid_api_key");
      expect(response.body.error.message).toMatch(message);
      expect(response.headers.get("x-request-id")).toMatch(/^req_/);
    }
  });

  test("x-api-key works as well as Bearer", async () => {
    gateway = await startManagedGateway();
    const response = await call(gateway, "GET", "/v1/keys", { key: null, headers: { "x-api-key": gateway.mgmtKey } });
    expect(response.status).toBe(200);
  });

  test("errors keep OpenAI's shape even for a client that sends anthropic-version (plugin's own renderer)", async () => {
    gateway = await startManagedGateway();
    const plugin = managementRoutes(gateway.deps);
    const response = await plugin.handle(
      new Request("http://127.0.0.1/v1/keys", { headers: { "anthropic-version": "2023-06-01", authorization: `Bearer ${gateway.liveKey}` } }),
    );
    expect(response.status).toBe(401);
    expect(((await response.json()) as OpenAIErrorBody).error.code).toBe("invalid_api_key");
    expect(response.headers.get("request-id")).toMatch(/^req_/);
  });
});

describe("GET, PATCH, DELETE /v1/keys/{id}", () => {
  test("list: every key of the workspace (oldest first), never the key itself, revoked ones marked", async () => {
    gateway = await startManagedGateway();
    const created = await call<KeyDoc>(gateway, "POST", "/v1/keys", { body: { name: "third" } });
    await call(gateway, "DELETE", `/v1/keys/${created.body.id}`);
    const other = await otherWorkspace(gateway);
    const list = await call<{ data: KeyDoc[] }>(gateway, "GET", "/v1/keys");
    expect(list.status).toBe(200);
    // The harness's two keys share a creation time; the new one comes last.
    expect(list.body.data.slice(0, 2).map((key) => [key.kind, key.revoked]).sort()).toEqual([
      ["live", false],
      ["mgmt", false],
    ]);
    expect(list.body.data[2]).toMatchObject({ id: created.body.id, revoked: true });
    expect(list.body.data.every((key) => !("key" in key))).toBe(true);
    expect(list.body.data.map((key) => key.id)).not.toContain(other.liveKeyId);
    expect(list.body.data[2]?.revoked_at).toMatch(ISO);
  });

  test.each([
    ["GET", undefined],
    ["PATCH", { name: "mine now" }],
    ["DELETE", undefined],
  ])("%s on another workspace's key → 404 not_found, and nothing changes", async (method, body) => {
    gateway = await startManagedGateway();
    const other = await otherWorkspace(gateway);
    const response = await call<OpenAIErrorBody>(gateway, method, `/v1/keys/${other.liveKeyId}`, { body });
    expect(response.status).toBe(404);
    expect(response.body.error.code).toBe("not_found");
    expect((await rows(gateway, "SELECT name, revoked_at FROM keys WHERE id = ?", other.liveKeyId))).toEqual([{ name: "l", revoked_at: null }]);
    // …and the owner still sees it.
    expect((await call(gateway, "GET", `/v1/keys/${other.liveKeyId}`, { key: other.mgmtKey })).status).toBe(200);
  });

  test("unknown ids → 404", async () => {
    gateway = await startManagedGateway();
    for (const method of ["GET", "PATCH", "DELETE"]) {
      const response = await call<OpenAIErrorBody>(gateway, method, "/v1/keys/key_nope", { body: method === "PATCH" ? {} : undefined });
      expect(response.status).toBe(404);
      expect(response.body.error.code).toBe("not_found");
    }
  });

  test("PATCH changes name, route and usage_event; unset fields stay; null clears", async () => {
    gateway = await startManagedGateway({ configToml: POOL_CONFIG });
    const created = await call<KeyDoc>(gateway, "POST", "/v1/keys", { body: { name: "a", route: "cheapest", usage_event: true } });
    const id = created.body.id;
    const renamed = await call<KeyDoc>(gateway, "PATCH", `/v1/keys/${id}`, { body: { name: "b" } });
    expect(renamed.status).toBe(200);
    expect(renamed.body).toMatchObject({ id, name: "b", route: "cheapest", usage_event: true, disabled: false });
    const cleared = await call<KeyDoc>(gateway, "PATCH", `/v1/keys/${id}`, { body: { route: null, usage_event: null } });
    expect(cleared.body).toMatchObject({ name: "b", route: null, usage_event: null });
    const pooled = await call<KeyDoc>(gateway, "PATCH", `/v1/keys/${id}`, { body: { route: "pool:economy", usage_event: false } });
    expect((await rows(gateway, "SELECT name, route, usage_event FROM keys WHERE id = ?", id))).toEqual([{ name: "b", route: "pool:economy", usage_event: 0 }]);
    expect(pooled.body.route).toBe("pool:economy");
    const empty = await call<KeyDoc>(gateway, "PATCH", `/v1/keys/${id}`, { body: {} });
    expect(empty.body).toEqual(pooled.body);
  });

  test.each([
    ["an unknown field", { kind: "mgmt" }, "kind"],
    ["disabled as a string", { disabled: "true" }, "disabled"],
    ["a bad route", { route: "pool:Bad Slug" }, "route"],
  ])("PATCH with %s → 400 naming the field", async (_name, body, param) => {
    gateway = await startManagedGateway();
    const id = (await rows<{ id: string }>(gateway, "SELECT id FROM keys WHERE kind = 'live'"))[0]?.id ?? "";
    const response = await call<OpenAIErrorBody>(gateway, "PATCH", `/v1/keys/${id}`, { body });
    expect(response.status).toBe(400);
    expect(response.body.error.param).toBe(param);
    expect(response.body.error.message).toContain(`'${param}'`);
  });

  test("a route change applies to the key's very next call (cache evicted)", async () => {
    gateway = await startManagedGateway({ configToml: POOL_CONFIG });
    const created = await call<KeyDoc>(gateway, "POST", "/v1/keys", { body: { name: "r" } });
    const key = created.body.key ?? "";
    const routeOf = async () => {
      const response = await chat(gateway as TestGateway, key);
      const requestId = response.headers.get("x-tollgate-request-id") ?? "";
      return (await rows<{ route: string }>(gateway as TestGateway, "SELECT route FROM requests WHERE request_id = ?", requestId))[0]?.route;
    };
    expect(await routeOf()).toBe("auto");
    await call(gateway, "PATCH", `/v1/keys/${created.body.id}`, { body: { route: "pool:economy" } });
    expect(await routeOf()).toBe("pool:economy");
  });
});

describe("key lifecycle", () => {
  test("create → works → disabled: refused at once → enabled: works → revoked: refused at once, for good", async () => {
    gateway = await startManagedGateway();
    const created = await call<KeyDoc>(gateway, "POST", "/v1/keys", { body: { name: "life" } });
    const { id } = created.body;
    const key = created.body.key ?? "";
    const inference = async () => (await chat(gateway as TestGateway, key)).status;

    expect(await inference()).toBe(200);
    const disabled = await call<KeyDoc>(gateway, "PATCH", `/v1/keys/${id}`, { body: { disabled: true } });
    expect(disabled.body.disabled).toBe(true);
    expect(await inference()).toBe(401);

    const enabled = await call<KeyDoc>(gateway, "PATCH", `/v1/keys/${id}`, { body: { disabled: false } });
    expect(enabled.body.disabled).toBe(false);
    expect(await inference()).toBe(200);

    const revoked = await call<KeyDoc>(gateway, "DELETE", `/v1/keys/${id}`);
    expect(revoked.status).toBe(200);
    expect(revoked.body).toMatchObject({ id, revoked: true });
    expect(revoked.body.revoked_at).toMatch(ISO);
    expect(await inference()).toBe(401);
    expect((await rows<{ revoked_at: number }>(gateway, "SELECT revoked_at FROM keys WHERE id = ?", id))[0]?.revoked_at).toBe(Date.parse(revoked.body.revoked_at ?? ""));

    // DELETE is idempotent: the same document, the first revocation time.
    const again = await call<KeyDoc>(gateway, "DELETE", `/v1/keys/${id}`);
    expect(again.status).toBe(200);
    expect(again.body).toEqual(revoked.body);
    // A revoked key cannot be brought back.
    const revive = await call<OpenAIErrorBody>(gateway, "PATCH", `/v1/keys/${id}`, { body: { disabled: false } });
    expect(revive.status).toBe(409);
    expect(revive.body.error.code).toBe("conflict");
    expect(await inference()).toBe(401);
  });

  test("a management key can be disabled and revoked too (it then stops working for management)", async () => {
    gateway = await startManagedGateway();
    const second = await call<KeyDoc>(gateway, "POST", "/v1/keys", { body: { name: "m2", kind: "mgmt" } });
    const key = second.body.key ?? "";
    expect((await call(gateway, "GET", "/v1/keys", { key })).status).toBe(200);
    await call(gateway, "DELETE", `/v1/keys/${second.body.id}`);
    expect((await call(gateway, "GET", "/v1/keys", { key })).status).toBe(401);
    expect((await call(gateway, "GET", "/v1/keys")).status).toBe(200);
  });

  test("a revocation written by another process is honoured within key_cache_ttl_ms", async () => {
    gateway = await startManagedGateway({ configToml: `[security]\nkey_cache_ttl_ms = 100\n${MOCK_CONFIG}` });
    expect((await chat(gateway, gateway.liveKey)).status).toBe(200);
    // The CLI's `key revoke`, straight to the database: this process's cache still holds the key.
    gateway.deps.database.sqlite.run("UPDATE keys SET revoked_at = ? WHERE hash = ?", [Date.now(), hashKey(gateway.liveKey)]);
    const started = performance.now();
    let status = 200;
    while (status === 200 && performance.now() - started < 1000) {
      await Bun.sleep(20);
      status = (await chat(gateway, gateway.liveKey)).status;
    }
    expect(status).toBe(401);
    expect(performance.now() - started).toBeLessThan(1000);
  });
});
