/**
 * Test preload: tests reach only loopback. A fetch to any other host fails loudly instead of leaving
 * the machine (no test may need the internet or an API key).
 */

const realFetch = globalThis.fetch;
const LOOPBACK = new Set(["127.0.0.1", "localhost", "[::1]", "::1"]);

function guardedFetch(input: string | URL | Request, init?: RequestInit): Promise<Response> {
  const url = new URL(input instanceof Request ? input.url : input.toString());
  if (!LOOPBACK.has(url.hostname)) {
    return Promise.reject(new Error(`test tried to reach ${url.hostname}: only loopback is allowed`));
  }
  return realFetch(input, init);
}

globalThis.fetch = Object.assign(guardedFetch, { preconnect: realFetch.preconnect }) as typeof fetch;
process.env.TOLLGATE_LOG_LEVEL ??= "error";
