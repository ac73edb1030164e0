/**
 * BYOK: a workspace's own provider keys, sealed with AES-256-GCM under `security.master_key` and bound to
 * their row (workspace and slot) by the additional authenticated data; and ByokVault, the service the
 * management routes and the inference pipeline share. Plaintext lives only in memory, only while needed.
 */

import { createCipheriv, createDecipheriv, randomBytes } from "node:crypto";
import type { Config } from "../config/types.ts";
import type { TollgateDb } from "../db/client.ts";
import { ByokRepo, type ByokKeyRow } from "../db/repo/byok.ts";
import { GatewayError } from "../errors.ts";
import { isoFromMs, systemClock, type Clock } from "../lib/clock.ts";

/** Sealed layout, base64: version (1 byte) ‖ iv (12) ‖ ciphertext ‖ tag (16). */
const FORMAT_VERSION = 1;
const IV_BYTES = 12;
const TAG_BYTES = 16;
const KEY_BYTES = 32;

export const MAX_API_KEY_BYTES = 4096;
export const MAX_LABEL_CHARS = 200;

export type SealedSecretFailure = "malformed" | "unsupported_version" | "authentication_failed";

/** A sealed value that cannot be opened. The message never carries the secret or the sealed bytes. */
export class SealedSecretError extends Error {
  constructor(readonly reason: SealedSecretFailure) {
    super(
      reason === "authentication_failed"
        ? "The sealed secret failed authentication: wrong master key, tampered data, or a value moved from another row."
        : reason === "unsupported_version"
          ? "The sealed secret has an unknown format version."
          : "The sealed secret is malformed.",
    );
    this.name = "SealedSecretError";
  }
}

function checkMasterKey(masterKey: Uint8Array): void {
  // A programming error (config/compile.ts guarantees 32 bytes), not a user-facing condition.
  if (masterKey.byteLength !== KEY_BYTES) throw new Error(`master key must be ${KEY_BYTES} bytes`);
}

/** The version byte is authenticated too, so it cannot be swapped for a later format's. */
function aadBytes(aad: string): Buffer {
  return Buffer.concat([Buffer.of(FORMAT_VERSION), Buffer.from(aad, "utf8")]);
}

/** The AAD that binds a BYOK secret to its row: a sealed value copied to another row fails to open. */
export function byokAad(workspaceId: string, slot: string): string {
  return `${workspaceId}:${slot}`;
}

/** AES-256-GCM with a fresh random 96-bit IV per call: sealing the same secret twice gives different values. */
export function sealSecret(masterKey: Uint8Array, plaintext: string, aad: string): string {
  checkMasterKey(masterKey);
  const iv = randomBytes(IV_BYTES);
  const cipher = createCipheriv("aes-256-gcm", masterKey, iv, { authTagLength: TAG_BYTES });
  cipher.setAAD(aadBytes(aad));
  const ciphertext = Buffer.concat([cipher.update(plaintext, "utf8"), cipher.final()]);
  return Buffer.concat([Buffer.of(FORMAT_VERSION), iv, ciphertext, cipher.getAuthTag()]).toString("base64");
}

/** Opens a value of sealSecret; throws SealedSecretError unless key, AAD and every byte match. */
export function openSecret(masterKey: Uint8Array, sealed: string, aad: string): string {
  checkMasterKey(masterKey);
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(sealed)) throw new SealedSecretError("malformed");
  const bytes = Buffer.from(sealed, "base64");
  if (bytes.length < 1 + IV_BYTES + TAG_BYTES) throw new SealedSecretError("malformed");
  if (bytes[0] !== FORMAT_VERSION) throw new SealedSecretError("unsupported_version");
  const iv = bytes.subarray(1, 1 + IV_BYTES);
  const ciphertext = bytes.subarray(1 + IV_BYTES, bytes.length - TAG_BYTES);
  const tag = bytes.subarray(bytes.length - TAG_BYTES);
  try {
    const decipher = createDecipheriv("aes-256-gcm", masterKey, iv, { authTagLength: TAG_BYTES });
    decipher.setAAD(aadBytes(aad));
    decipher.setAuthTag(tag);
    return Buffer.concat([decipher.update(ciphertext), decipher.final()]).toString("utf8");
  } catch {
    throw new SealedSecretError("authentication_failed");
  }
}

/**
 * A display form that cannot leak the key: the vendor prefix up to its first '-' (when short, like
 * `sk-`) and the last four characters (only when at least 12 others stay hidden): `sk-…cdef`.
 */
export function maskSecret(plaintext: string): string {
  const dash = plaintext.indexOf("-");
  const prefix = dash > 0 && dash < 8 ? plaintext.slice(0, dash + 1) : "";
  const hidden = plaintext.length - prefix.length - 4;
  return `${prefix}…${hidden >= 12 ? plaintext.slice(-4) : ""}`;
}

/** One stored BYOK key as the API shows it (SPEC §4): never the key itself. */
export interface ByokKeyDocument {
  provider: string;
  label: string | null;
  hint: string;
  created_at: string;
}

function byokKeyDocument(row: ByokKeyRow): ByokKeyDocument {
  return { provider: row.provider, label: row.label, hint: row.hint, created_at: isoFromMs(row.createdAt) };
}

/**
 * The BYOK service. No cache of opened keys, on purpose: resolving is one indexed SELECT plus one
 * AES-GCM open (~50 µs measured, beside an upstream call's hundreds of milliseconds), and without a cache a
 * replaced or deleted key stops working at once in every process (CLI, peers), several vault instances
 * can never disagree, and no plaintext secret outlives the call that needed it.
 */
export class ByokVault {
  private readonly repo: ByokRepo;
  /** The configured slots (providers' `byok` values), sorted, unique. */
  readonly slots: readonly string[];

  constructor(
    private readonly config: Config,
    db: TollgateDb,
    private readonly clock: Clock = systemClock,
  ) {
    this.repo = new ByokRepo(db);
    const slots = config.providers.flatMap((provider) => (provider.byokSlot === null ? [] : [provider.byokSlot]));
    this.slots = Object.freeze([...new Set(slots)].sort());
  }

  /** Seals and stores a workspace's key for a slot, replacing the one there. */
  async store(workspaceId: string, provider: string, apiKey: string, label?: string | null): Promise<ByokKeyDocument> {
    const masterKey = this.config.security.masterKey;
    if (masterKey === null)
      throw new GatewayError(
        "invalid_request",
        "BYOK needs security.master_key (32 random bytes, base64, e.g. `openssl rand -base64 32`) in the gateway's config; this gateway has none, so it cannot store keys.",
      );
    this.checkSlot(provider);
    const secret = checkApiKey(apiKey);
    const cleanLabel = checkLabel(label);
    const sealed = sealSecret(masterKey, secret, byokAad(workspaceId, provider));
    const row = await this.repo.upsert(workspaceId, provider, cleanLabel, sealed, maskSecret(secret), this.clock.now());
    return byokKeyDocument(row);
  }

  /** The workspace's keys, masked, by slot name. */
  async list(workspaceId: string): Promise<ByokKeyDocument[]> {
    return (await this.repo.list(workspaceId)).map(byokKeyDocument);
  }

  /** Deletes the workspace's key for a slot (also for a slot no longer configured); 404 if there is none. */
  async remove(workspaceId: string, provider: string): Promise<void> {
    if (!(await this.repo.delete(workspaceId, provider)))
      throw new GatewayError("not_found", `No BYOK key is stored for provider '${provider}'.`, { param: "provider" });
  }

  /** The plaintext key for an inference call with X-Tollgate-BYOK (SPEC §5); 400 byok_key_missing when unusable. */
  async resolveKey(workspaceId: string, slot: string): Promise<string> {
    const masterKey = this.config.security.masterKey;
    if (masterKey === null)
      throw new GatewayError("byok_key_missing", "BYOK is not enabled on this gateway (security.master_key is not set).");
    const row = await this.repo.find(workspaceId, slot);
    if (!row) throw new GatewayError("byok_key_missing", `No BYOK key is uploaded for provider '${slot}': POST /v1/byok/keys first.`);
    try {
      return openSecret(masterKey, row.sealed, byokAad(workspaceId, slot));
    } catch (error) {
      if (!(error instanceof SealedSecretError)) throw error;
      throw new GatewayError(
        "byok_key_missing",
        `The BYOK key for provider '${slot}' can no longer be decrypted (the gateway's master key changed?); upload it again.`,
        { cause: error },
      );
    }
  }

  private checkSlot(provider: string): void {
    if (this.slots.includes(provider)) return;
    const valid = this.slots.length === 0 ? "no BYOK slots are configured (providers[].byok)" : `valid slots: ${this.slots.join(", ")}`;
    throw new GatewayError("invalid_request", `Invalid request: 'provider' must be a BYOK slot, and '${provider}' is not; ${valid}.`, { param: "provider" });
  }
}

/** The key as it will be sent upstream: trimmed, non-empty, ≤ 4 KB, visible ASCII only. */
function checkApiKey(apiKey: string): string {
  const secret = apiKey.trim();
  if (secret === "") throw new GatewayError("invalid_request", "Invalid request: 'api_key' must not be empty.", { param: "api_key" });
  if (Buffer.byteLength(secret, "utf8") > MAX_API_KEY_BYTES)
    throw new GatewayError("invalid_request", `Invalid request: 'api_key' must be at most ${MAX_API_KEY_BYTES} bytes.`, { param: "api_key" });
  // It travels in an HTTP header: visible ASCII only (a space or newline would break or smuggle the
  // upstream request; a character past ASCII makes fetch refuse the header on every call).
  if (!/^[\x21-\x7e]+$/.test(secret))
    throw new GatewayError("invalid_request", "Invalid request: 'api_key' must be visible ASCII characters only (no whitespace, control or non-ASCII characters).", { param: "api_key" });
  return secret;
}

function checkLabel(label: string | null | undefined): string | null {
  const clean = label?.trim() ?? "";
  if (clean.length > MAX_LABEL_CHARS)
    throw new GatewayError("invalid_request", `Invalid request: 'label' must be at most ${MAX_LABEL_CHARS} characters.`, { param: "label" });
  return clean === "" ? null : clean;
}
