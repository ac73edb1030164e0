import { describe, expect, test } from "bun:test";
import { byokAad, maskSecret, openSecret, sealSecret, SealedSecretError, type SealedSecretFailure } from "./byok.ts";

const masterKey = new Uint8Array(crypto.getRandomValues(new Uint8Array(32)));
const otherKey = new Uint8Array(crypto.getRandomValues(new Uint8Array(32)));
const SECRET = "sk-live-BYOKSECRET-1234567890abcdef";
const AAD = byokAad("ws_one", "openai");

function failure(run: () => unknown): SealedSecretError {
  try {
    run();
  } catch (error) {
    if (error instanceof SealedSecretError) return error;
    throw error;
  }
  throw new Error("expected a SealedSecretError");
}

/** Flips one bit of the sealed value's byte at `index` (negative: from the end). */
function flipByte(sealed: string, index: number): string {
  const bytes = Buffer.from(sealed, "base64");
  const at = index < 0 ? bytes.length + index : index;
  bytes[at] = (bytes[at] ?? 0) ^ 0x01;
  return bytes.toString("base64");
}

describe("sealSecret / openSecret", () => {
  test.each([SECRET, "x", "ключ-🔑-with unicode", "a".repeat(4096)])("round trip of %#", (plaintext) => {
    expect(openSecret(masterKey, sealSecret(masterKey, plaintext, AAD), AAD)).toBe(plaintext);
  });

  test("layout: version 1 ‖ 12-byte iv ‖ ciphertext of the plaintext's length ‖ 16-byte tag, base64", () => {
    const bytes = Buffer.from(sealSecret(masterKey, SECRET, AAD), "base64");
    expect(bytes[0]).toBe(1);
    expect(bytes.length).toBe(1 + 12 + Buffer.byteLength(SECRET) + 16);
    expect(bytes.includes(Buffer.from(SECRET))).toBe(false);
  });

  test("every seal differs (random IV), and each opens", () => {
    const sealed = Array.from({ length: 50 }, () => sealSecret(masterKey, SECRET, AAD));
    expect(new Set(sealed).size).toBe(50);
    expect(new Set(sealed.map((value) => Buffer.from(value, "base64").subarray(1, 13).toString("hex"))).size).toBe(50);
    for (const value of sealed) expect(openSecret(masterKey, value, AAD)).toBe(SECRET);
  });

  test("another row's AAD (workspace or slot) does not open it", () => {
    const sealed = sealSecret(masterKey, SECRET, AAD);
    for (const aad of [byokAad("ws_two", "openai"), byokAad("ws_one", "deepseek"), "", `${AAD} `]) {
      expect(failure(() => openSecret(masterKey, sealed, aad)).reason).toBe("authentication_failed");
    }
  });

  test("the wrong master key does not open it", () => {
    const sealed = sealSecret(masterKey, SECRET, AAD);
    expect(failure(() => openSecret(otherKey, sealed, AAD)).reason).toBe("authentication_failed");
  });

  test("a flipped bit anywhere (iv, ciphertext, tag) is detected", () => {
    const sealed = sealSecret(masterKey, SECRET, AAD);
    const length = Buffer.from(sealed, "base64").length;
    for (let index = 1; index < length; index++) {
      expect(failure(() => openSecret(masterKey, flipByte(sealed, index), AAD)).reason).toBe("authentication_failed");
    }
  });

  test("truncated, extended, re-versioned or non-base64 values are rejected", () => {
    const sealed = sealSecret(masterKey, SECRET, AAD);
    const bytes = Buffer.from(sealed, "base64");
    const cases: Array<[string, SealedSecretFailure]> = [
      [bytes.subarray(0, bytes.length - 1).toString("base64"), "authentication_failed"],
      [Buffer.concat([bytes, Buffer.of(0)]).toString("base64"), "authentication_failed"],
      [bytes.subarray(0, 28).toString("base64"), "malformed"],
      ["", "malformed"],
      [`${sealed.slice(0, 10)}!${sealed.slice(11)}`, "malformed"],
      [flipByte(sealed, 0), "unsupported_version"],
    ];
    for (const [value, reason] of cases) expect(failure(() => openSecret(masterKey, value, AAD)).reason).toBe(reason);
  });

  test("the error message carries neither the secret nor the sealed value", () => {
    const sealed = sealSecret(masterKey, SECRET, AAD);
    const error = failure(() => openSecret(otherKey, sealed, AAD));
    expect(error.message).not.toContain(SECRET);
    expect(error.message).not.toContain(sealed);
    expect(String(error.stack)).not.toContain(SECRET);
  });

  test("a master key of the wrong size is a programming error", () => {
    expect(() => sealSecret(new Uint8Array(16), SECRET, AAD)).toThrow("32 bytes");
  });
});

describe("maskSecret", () => {
  test.each([
    [SECRET, "sk-…cdef"],
    ["sk-ant-api03-abcdefghijklmnopqrstuvwxyz-WXYZ", "sk-…WXYZ"],
    ["AIzaSyA1234567890abcdefghijklmnopqrstu", "…rstu"],
    ["averyveryverylongprefix-0123456789abcdef", "…cdef"],
    ["sk-short", "sk-…"],
    ["0123456789abcdef", "…cdef"],
    ["0123456789abcde", "…"],
    ["", "…"],
  ])("%s → %s", (plaintext, masked) => {
    expect(maskSecret(plaintext)).toBe(masked);
  });
});
