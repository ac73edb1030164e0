import { expect, test } from "bun:test";
import { listeningAddress, listeningLine } from "./listening-line.ts";

test("the address is read back from the line serve prints", () => {
  const line = listeningLine("http://127.0.0.1:43127", "demo");
  expect(listeningAddress(`some earlier output\n${line}more`)).toBe("http://127.0.0.1:43127");
});

test("a read that ends mid-address gives nothing yet, not a truncated port", () => {
  const line = listeningLine("http://127.0.0.1:43127", "/etc/tollgate.toml");
  expect(listeningAddress(line.slice(0, line.indexOf("43127") + 2))).toBeNull();
  expect(listeningAddress(line.slice(0, line.indexOf("43127") + 5))).toBeNull();
  expect(listeningAddress(line.slice(0, line.indexOf("43127") + 6))).toBe("http://127.0.0.1:43127");
});
