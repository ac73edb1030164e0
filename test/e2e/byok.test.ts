/**
 * BYOK key management over HTTP (SPEC §4): upload, list masked, replace, delete; the vault the pipeline
 * resolves keys through; and the storage proof — no plaintext secret in the SQLite files (.db, -wal).
 */

import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, readFileSync } from "node:fs";
import { hashKey } from "../../src/keys/keys.ts";
import { ByokVault } from "../../src/keys/byok.ts";
import { createLogger } from "../../src/lib/log.ts";
import { byokRoutes } from "../../src/management/byok-routes.ts";
import { GatewayError } from "../../src/errors.ts";
import { MOCK_CONFIG, postJson, rows, startGateway, type TestGateway } from "../harness/gateway.ts";

const MASTER_KEY = Buffer.from(crypto.getRandomValues(new Uint8Array(32))).toString("base64");
const SECRET = "sk-live-BYOKSECRET-1234567890abcdef";
const SECRET_2 = "sk-live-BYOKREPLACED-fedcba0987654321";
/** Shaped like no known key, so log redaction could not hide it: the logs must never receive it at all. */
const LOG_PROBE = "AIzaBYOKLOGPROBE0123456789abcdefghij";

// Providers with BYOK slots; never called (port 9 is discard), only named by `byok`.
const BYOK_PROVIDERS = `
[[providers]]
id = "openai-main"
kind = "openai"
base_url = "http://127.0.0.1:9/v1"
api_key = "sk-operator-key-not-a-byok-one"
byok = "openai"

[[providers]]
id = "deepseek"
kind = "openai"
base_url = "http://127.0.0.1:9/v1"
byok = "deepseek"
`;

const WITH_MASTER_KEY = `[security]\nmaster_key = "${MASTER_KEY}"\n${BYOK_PROVIDERS}${MOCK_CONFIG}`;

interface Answer {
  status: number;
  headers: Headers;
  text: string;
  json: Record<string, unknown>;
}

/** Starts a gateway with the BYOK routes mounted (a named plugin: a no-op once app.ts mounts it too). */
async function startByokGateway(configToml: string): Promise<TestGateway> {
  const gateway = await startGateway({ configToml });
  gateway.app.use(byokRoutes(gateway.deps));
  return gateway;
}

let gateway: TestGateway;
const responseBodies: string[] = [];
const logLines: string[] = [];

async function call(target: TestGateway, method: string, path: string, key: string | null, body?: unknown): Promise<Answer> {
  const headers: Record<string, string> = { "content-type": "application/json" };
  if (key !== null) headers.authorization = `Bearer ${key}`;
  const init: RequestInit = { method, headers };
  if (body !== undefined) init.body = typeof body === "string" ? body : JSON.stringify(body);
  const response = await target.handle(new Request(`${target.baseUrl}${path}`, init));
  const text = await response.text();
  responseBodies.push(text);
  return { status: response.status, headers: response.headers, text, json: text ? (JSON.parse(text) as Record<string, unknown>) : {} };
}

const upload = (body: unknown, key = gateway.mgmtKey) => call(gateway, "POST", "/v1/byok/keys", key, body);
const list = (key = gateway.mgmtKey) => call(gateway, "GET", "/v1/byok/keys", key);
const remove = (provider: string, key = gateway.mgmtKey) => call(gateway, "DELETE", `/v1/byok/keys/${encodeURIComponent(provider)}`, key);

function expectOpenAIError(answer: Answer, status: number, code: string): { message: string; param: string | null } {
  expect(answer.status).toBe(status);
  const error = answer.json.error as { message: string; type: string; code: string; param: string | null };
  expect(error.code).toBe(code);
  expect(typeof error.message).toBe("string");
  expect(answer.headers.get("x-tollgate-request-id")).toMatch(/^req_/);
  expect(answer.headers.get("x-request-id")).toBe(answer.headers.get("x-tollgate-request-id"));
  return error;
}

beforeAll(async () => {
  gateway = await startByokGateway(WITH_MASTER_KEY);
  gateway.deps.log = createLogger("debug", (line) => logLines.push(line));
});

afterAll(async () => {
  await gateway.close();
});

describe("BYOK keys: upload, list, replace, delete", () => {
  test("upload → 201 with the masked key only; list shows it masked", async () => {
    const created = await upload({ provider: "openai", api_key: SECRET, label: "prod" });
    expect(created.status).toBe(201);
    expect(created.headers.get("x-tollgate-request-id")).toMatch(/^req_/);
    expect(created.json).toEqual({ provider: "openai", label: "prod", hint: "sk-…cdef", created_at: expect.any(String) });
    expect(Number.isNaN(Date.parse(created.json.created_at as string))).toBe(false);

    const listed = await list();
    expect(listed.status).toBe(200);
    expect(listed.json).toEqual({ data: [created.json] });
  });

  test("a second slot; the list is ordered by slot; label is optional", async () => {
    const created = await upload({ provider: "deepseek", api_key: `  ${LOG_PROBE}\n` });
    expect(created.status).toBe(201);
    expect(created.json).toMatchObject({ provider: "deepseek", label: null, hint: "…ghij" });
    const listed = await list();
    expect((listed.json.data as Array<{ provider: string }>).map((entry) => entry.provider)).toEqual(["deepseek", "openai"]);
  });

  test("re-upload replaces the slot's key: still one row, new hint and label, the new key resolves", async () => {
    const replaced = await upload({ provider: "openai", api_key: SECRET_2, label: "rotated" });
    expect(replaced.status).toBe(201);
    expect(replaced.json).toMatchObject({ provider: "openai", label: "rotated", hint: "sk-…4321" });
    expect((await rows(gateway, "SELECT provider FROM byok_keys WHERE workspace_id = ? ORDER BY provider", gateway.workspaceId))).toEqual([
      { provider: "deepseek" },
      { provider: "openai" },
    ]);
    const vault = new ByokVault(gateway.config, gateway.deps.database.db);
    expect(await vault.resolveKey(gateway.workspaceId, "openai")).toBe(SECRET_2);
    expect(await vault.resolveKey(gateway.workspaceId, "deepseek")).toBe(LOG_PROBE);
  });

  test("delete → 200 {provider, deleted}; again → 404 not_found; the slot no longer resolves", async () => {
    await upload({ provider: "deepseek", api_key: "sk-to-be-deleted-000000000000" });
    const deleted = await remove("deepseek");
    expect(deleted.status).toBe(200);
    expect(deleted.json).toEqual({ provider: "deepseek", deleted: true });
    expectOpenAIError(await remove("deepseek"), 404, "not_found");
    expectOpenAIError(await remove("never-a-slot"), 404, "not_found");
    expect((await list()).json.data).toEqual([expect.objectContaining({ provider: "openai" })]);
    const vault = new ByokVault(gateway.config, gateway.deps.database.db);
    const missing = await vault.resolveKey(gateway.workspaceId, "deepseek").catch((error: unknown) => error);
    expect(missing).toBeInstanceOf(GatewayError);
    expect(missing).toMatchObject({ kind: "byok_key_missing", status: 400 });
  });

  test("keys are per workspace: another workspace sees none and cannot delete", async () => {
    const other = await gateway.deps.repos.workspaces.create("other", gateway.deps.clock.now());
    const otherMgmt = await gateway.deps.repos.keys.create({ workspaceId: other.id, kind: "mgmt", name: "m", nowMs: gateway.deps.clock.now() });
    expect((await list(otherMgmt.key)).json).toEqual({ data: [] });
    expectOpenAIError(await remove("openai", otherMgmt.key), 404, "not_found");
    const vault = new ByokVault(gateway.config, gateway.deps.database.db);
    await expect(vault.resolveKey(other.id, "openai")).rejects.toMatchObject({ kind: "byok_key_missing" });
  });

  test("a sealed value copied to another workspace's row does not open there", async () => {
    const other = await gateway.deps.repos.workspaces.create("copycat", gateway.deps.clock.now());
    gateway.deps.database.sqlite.run(
      "INSERT INTO byok_keys (id, workspace_id, provider, label, sealed, hint, created_at) SELECT 'byok_copy', ?, provider, label, sealed, hint, created_at FROM byok_keys WHERE workspace_id = ? AND provider = 'openai'",
      [other.id, gateway.workspaceId],
    );
    const vault = new ByokVault(gateway.config, gateway.deps.database.db);
    const error = await vault.resolveKey(other.id, "openai").catch((thrown: unknown) => thrown);
    expect(error).toMatchObject({ kind: "byok_key_missing", status: 400 });
    expect((error as Error).message).toContain("can no longer be decrypted");
    expect((error as Error).message).not.toContain(SECRET_2);
  });
});

describe("BYOK keys: refusals", () => {
  test("an unknown slot → 400 listing the valid slots", async () => {
    const error = expectOpenAIError(await upload({ provider: "openai-main", api_key: SECRET }), 400, "invalid_request");
    expect(error.message).toContain("valid slots: deepseek, openai");
    expect(error.param).toBe("provider");
  });

  test.each([
    ["an empty api_key", { provider: "openai", api_key: "   " }, "'api_key' must not be empty"],
    ["a 4 KB+ api_key", { provider: "openai", api_key: `sk-${"x".repeat(4094)}` }, "'api_key' must be at most 4096 bytes"],
    ["whitespace inside the api_key", { provider: "openai", api_key: `sk-live ${LOG_PROBE}` }, "visible ASCII characters only"],
    // fetch refuses such a header on every call: a key that could never work is refused at upload.
    ["a non-ASCII character in the api_key", { provider: "openai", api_key: `sk-${"Ā".repeat(8)}${LOG_PROBE}` }, "visible ASCII characters only"],
    ["an unknown field", { provider: "openai", api_key: LOG_PROBE, extra: LOG_PROBE }, "'extra' is not a known field"],
    ["a non-string api_key", { provider: "openai", api_key: 42 }, "'api_key' must be a string"],
    ["a missing provider", { api_key: LOG_PROBE }, "'provider' is required"],
    ["a label above 200 characters", { provider: "openai", api_key: LOG_PROBE, label: "l".repeat(201) }, "'label' must be at most 200 characters"],
    ["malformed JSON", `{"provider":"openai","api_key":"${LOG_PROBE}"`, "not valid JSON"],
  ])("%s → 400 invalid_request, naming the problem, never echoing the key", async (_name, body, fragment) => {
    const answer = await upload(body);
    const error = expectOpenAIError(answer, 400, "invalid_request");
    expect(error.message).toContain(fragment);
    expect(answer.text).not.toContain(LOG_PROBE);
  });

  test("a refused upload leaves the stored key untouched", async () => {
    expect((await list()).json.data).toEqual([expect.objectContaining({ provider: "openai", hint: "sk-…4321", label: "rotated" })]);
  });

  test("an inference key → 401 naming the management key; no key → 401", async () => {
    for (const answer of [await upload({ provider: "openai", api_key: SECRET }, gateway.liveKey), await list(gateway.liveKey), await remove("openai", gateway.liveKey)]) {
      const error = expectOpenAIError(answer, 401, "invalid_api_key");
      expect(error.message).toContain("management key");
    }
    expectOpenAIError(await call(gateway, "GET", "/v1/byok/keys", null), 401, "invalid_api_key");
    expect((await list()).json.data).toEqual([expect.objectContaining({ hint: "sk-…4321" })]);
  });

  test("without security.master_key: 400 with a message that says what to configure", async () => {
    const bare = await startByokGateway(`${BYOK_PROVIDERS}${MOCK_CONFIG}`);
    try {
      const answer = await call(bare, "POST", "/v1/byok/keys", bare.mgmtKey, { provider: "openai", api_key: SECRET });
      const error = expectOpenAIError(answer, 400, "invalid_request");
      expect(error.message).toContain("BYOK needs security.master_key");
      expect((await rows(bare, "SELECT * FROM byok_keys"))).toEqual([]);
      const vault = new ByokVault(bare.config, bare.deps.database.db);
      await expect(vault.resolveKey(bare.workspaceId, "openai")).rejects.toMatchObject({ kind: "byok_key_missing" });
    } finally {
      await bare.close();
    }
  });

  test("a master key but no slots configured: 400 says so", async () => {
    const noSlots = await startByokGateway(`[security]\nmaster_key = "${MASTER_KEY}"\n${MOCK_CONFIG}`);
    try {
      const answer = await call(noSlots, "POST", "/v1/byok/keys", noSlots.mgmtKey, { provider: "openai", api_key: SECRET });
      expect(expectOpenAIError(answer, 400, "invalid_request").message).toContain("no BYOK slots are configured");
    } finally {
      await noSlots.close();
    }
  });
});

describe("BYOK keys: never stored or shown in plain text", () => {
  test("no response body and no log line ever carried a full key", () => {
    expect(responseBodies.length).toBeGreaterThan(20);
    for (const secret of [SECRET, SECRET_2, LOG_PROBE]) {
      expect(responseBodies.filter((body) => body.includes(secret))).toEqual([]);
    }
    expect(logLines.length).toBeGreaterThan(0);
    expect(logLines.filter((line) => line.includes(LOG_PROBE) || line.includes("BYOKSECRET") || line.includes("BYOKREPLACED"))).toEqual([]);
  });

  test("the SQLite files (.db, -wal, -shm) hold neither BYOK secrets nor Tollgate keys, only their seals and hashes", async () => {
    // Use the app around the keys: an inference call, a list, a fresh upload of the first secret.
    const chat = await postJson(gateway, "/v1/chat/completions", { model: "mock-model", messages: [{ role: "user", content: "hello" }] });
    expect(chat.status).toBe(200);
    await chat.text();
    expect((await upload({ provider: "deepseek", api_key: SECRET, label: "proof" })).status).toBe(201);
    expect((await list()).status).toBe(200);

    const path = gateway.deps.database.path;
    const files = () => [path, `${path}-wal`, `${path}-shm`].filter((file) => existsSync(file)).map((file) => readFileSync(file));
    const plaintexts = [SECRET, SECRET_2, LOG_PROBE, gateway.liveKey, gateway.mgmtKey].map((text) => Buffer.from(text, "utf8"));
    const assertClean = (bytes: Buffer[]) => {
      expect(bytes.reduce((total, file) => total + file.length, 0)).toBeGreaterThan(0);
      for (const file of bytes) {
        for (const plaintext of plaintexts) expect(file.indexOf(plaintext)).toBe(-1);
        expect(file.indexOf(Buffer.from("BYOKSECRET"))).toBe(-1);
      }
    };
    const sealedNow = async () =>
      (await rows<{ sealed: string }>(gateway, "SELECT sealed FROM byok_keys WHERE workspace_id = ? AND provider = 'deepseek'", gateway.workspaceId))[0]?.sealed ?? "";
    const beforeCheckpoint = files();
    assertClean(beforeCheckpoint); // before the checkpoint: the latest rows sit in the WAL only
    const wal = readFileSync(`${path}-wal`);
    expect(wal.indexOf(Buffer.from(await sealedNow()))).toBeGreaterThan(-1); // the WAL read is live: it holds the new seal

    gateway.deps.database.sqlite.run("PRAGMA wal_checkpoint(TRUNCATE)");
    const afterCheckpoint = files();
    assertClean(afterCheckpoint);

    // Positive controls: the file read is the live database, holding the seal and the key hashes.
    const database = afterCheckpoint[0] as Buffer;
    expect(await sealedNow()).not.toBe("");
    expect(database.indexOf(Buffer.from(await sealedNow()))).toBeGreaterThan(-1);
    expect(database.indexOf(Buffer.from(hashKey(gateway.liveKey)))).toBeGreaterThan(-1);
    expect(database.indexOf(Buffer.from(hashKey(gateway.mgmtKey)))).toBeGreaterThan(-1);
    expect(await new ByokVault(gateway.config, gateway.deps.database.db).resolveKey(gateway.workspaceId, "deepseek")).toBe(SECRET);
  });
});
