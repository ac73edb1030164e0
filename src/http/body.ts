/** Accept stage: reads a request body with `max_body_bytes` enforced (413), before any parsing. */

import { GatewayError } from "../errors.ts";
import { H } from "./headers.ts";

const decoder = new TextDecoder();

export async function readBodyText(request: Request, maxBytes: number): Promise<string> {
  const declared = Number(request.headers.get(H.contentLength) ?? Number.NaN);
  if (declared > maxBytes) throw tooLarge(maxBytes);
  const bytes = await request.arrayBuffer();
  if (bytes.byteLength > maxBytes) throw tooLarge(maxBytes);
  return decoder.decode(bytes);
}

function tooLarge(maxBytes: number): GatewayError {
  return new GatewayError("body_too_large", `The request body is larger than the limit of ${maxBytes} bytes.`);
}
