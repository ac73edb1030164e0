/**
 * Fake upstreams on 127.0.0.1:0, OpenAI- and Anthropic-shaped: by default they answer like the real
 * APIs (echo of the last user text, a tool call when tools are offered, real-looking usage, stream or
 * not); a test can script the next answers (status and body, SSE text or events, delays, cuts) and read
 * every request received.
 */

export interface ReceivedRequest {
  path: string;
  headers: Headers;
  body: Record<string, unknown>;
}

export type Script =
  | { kind: "json"; status?: number; body: unknown; headers?: Record<string, string>; delayMs?: number; /** Sent as it is, instead of `body` serialised. */ raw?: string }
  | { kind: "sse"; text: string; chunkSize?: number; chunkDelayMs?: number; delayMs?: number; cutAfterBytes?: number; status?: number; /** After the text, neither end nor cut the body. */ holdOpen?: boolean }
  | { kind: "hang" };

export interface FakeUpstream {
  url: string;
  received: ReceivedRequest[];
  /** How many "hang" answers saw their request aborted by the gateway. */
  readonly hangsAborted: number;
  /** Queue scripts for the next requests (first in, first used); unscripted requests get the default answer. */
  script(...scripts: Script[]): void;
  close(): Promise<void>;
}

const encoder = new TextEncoder();
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function lastUserText(messages: unknown): string {
  if (!Array.isArray(messages)) return "";
  for (let index = messages.length - 1; index >= 0; index--) {
    const message = messages[index] as { role?: string; content?: unknown };
    if (message.role === "tool" && typeof message.content === "string") return message.content;
    if (message.role !== "user") continue;
    if (typeof message.content === "string") return message.content;
    if (Array.isArray(message.content)) {
      return message.content
        .map((part: { type?: string; text?: string; content?: unknown }) => (part.type === "text" ? (part.text ?? "") : part.type === "tool_result" ? JSON.stringify(part.content) : ""))
        .join(" ")
        .trim();
    }
  }
  return "";
}

function hasToolResult(messages: unknown): boolean {
  if (!Array.isArray(messages)) return false;
  const last = messages.at(-1) as { role?: string; content?: unknown } | undefined;
  return last?.role === "tool" || (Array.isArray(last?.content) && last.content.some((part: { type?: string }) => part.type === "tool_result"));
}

export function sseText(events: Array<{ event?: string; data: unknown }>): string {
  return events.map((item) => `${item.event ? `event: ${item.event}\n` : ""}data: ${typeof item.data === "string" ? item.data : JSON.stringify(item.data)}\n\n`).join("");
}

function openAIDefault(body: Record<string, unknown>): Script {
  const tools = body.tools as Array<{ function: { name: string } }> | undefined;
  const callTool = tools && tools.length > 0 && body.tool_choice !== "none" && !hasToolResult(body.messages);
  const text = lastUserText(body.messages) || "Hello from the fake OpenAI upstream.";
  const usage = { prompt_tokens: 12, completion_tokens: callTool ? 9 : text.split(" ").length, total_tokens: 0, prompt_tokens_details: { cached_tokens: 2 } };
  usage.total_tokens = usage.prompt_tokens + usage.completion_tokens;
  const toolCall = callTool ? { id: "call_fake_1", type: "function", function: { name: tools[0]?.function.name ?? "tool", arguments: '{"city":"Paris"}' } } : null;
  if (body.stream !== true) {
    return {
      kind: "json",
      body: {
        id: "chatcmpl-fake",
        object: "chat.completion",
        created: 1_700_000_000,
        model: body.model,
        choices: [{ index: 0, message: { role: "assistant", content: toolCall ? null : text, ...(toolCall ? { tool_calls: [toolCall] } : {}) }, finish_reason: toolCall ? "tool_calls" : "stop" }],
        usage,
      },
    };
  }
  const chunk = (delta: unknown, finish: string | null = null) => ({ data: { id: "chatcmpl-fake", object: "chat.completion.chunk", created: 1_700_000_000, model: body.model, choices: [{ index: 0, delta, finish_reason: finish }] } });
  const events: Array<{ data: unknown }> = [chunk({ role: "assistant", content: "" })];
  if (toolCall) {
    events.push(chunk({ tool_calls: [{ index: 0, id: toolCall.id, type: "function", function: { name: toolCall.function.name, arguments: "" } }] }));
    for (const piece of ['{"ci', 'ty":"Pa', 'ris"}']) events.push(chunk({ tool_calls: [{ index: 0, function: { arguments: piece } }] }));
  } else {
    for (const word of text.split(/(?<= )/)) events.push(chunk({ content: word }));
  }
  events.push(chunk({}, toolCall ? "tool_calls" : "stop"));
  const options = body.stream_options as { include_usage?: boolean } | undefined;
  if (options?.include_usage) events.push({ data: { id: "chatcmpl-fake", object: "chat.completion.chunk", created: 1_700_000_000, model: body.model, choices: [], usage } });
  events.push({ data: "[DONE]" });
  return { kind: "sse", text: sseText(events) };
}

function anthropicDefault(body: Record<string, unknown>): Script {
  const tools = body.tools as Array<{ name: string }> | undefined;
  const toolChoice = body.tool_choice as { type?: string } | undefined;
  const callTool = tools && tools.length > 0 && toolChoice?.type !== "none" && !hasToolResult(body.messages);
  const text = lastUserText(body.messages) || "Hello from the fake Anthropic upstream.";
  const usage = { input_tokens: 10, output_tokens: callTool ? 9 : text.split(" ").length, cache_read_input_tokens: 2, cache_creation_input_tokens: 0 };
  const content = callTool
    ? [{ type: "tool_use", id: "toolu_fake_1", name: tools[0]?.name ?? "tool", input: { city: "Paris" } }]
    : [{ type: "text", text }];
  const stopReason = callTool ? "tool_use" : "end_turn";
  if (body.stream !== true) {
    return { kind: "json", body: { id: "msg_fake", type: "message", role: "assistant", model: body.model, content, stop_reason: stopReason, stop_sequence: null, usage } };
  }
  const events: Array<{ event: string; data: unknown }> = [
    { event: "message_start", data: { type: "message_start", message: { id: "msg_fake", type: "message", role: "assistant", model: body.model, content: [], stop_reason: null, stop_sequence: null, usage: { ...usage, output_tokens: 1 } } } },
  ];
  if (callTool) {
    events.push({ event: "content_block_start", data: { type: "content_block_start", index: 0, content_block: { type: "tool_use", id: "toolu_fake_1", name: tools[0]?.name ?? "tool", input: {} } } });
    for (const piece of ['{"ci', 'ty": "Pa', 'ris"}']) events.push({ event: "content_block_delta", data: { type: "content_block_delta", index: 0, delta: { type: "input_json_delta", partial_json: piece } } });
  } else {
    events.push({ event: "content_block_start", data: { type: "content_block_start", index: 0, content_block: { type: "text", text: "" } } });
    events.push({ event: "ping", data: { type: "ping" } });
    for (const word of text.split(/(?<= )/)) events.push({ event: "content_block_delta", data: { type: "content_block_delta", index: 0, delta: { type: "text_delta", text: word } } });
  }
  events.push({ event: "content_block_stop", data: { type: "content_block_stop", index: 0 } });
  events.push({ event: "message_delta", data: { type: "message_delta", delta: { stop_reason: stopReason, stop_sequence: null }, usage: { output_tokens: usage.output_tokens } } });
  events.push({ event: "message_stop", data: { type: "message_stop" } });
  return { kind: "sse", text: sseText(events) };
}

function respond(script: Script, signal: AbortSignal, onHangAborted: () => void): Response | Promise<Response> {
  if (script.kind === "json") {
    const init = { status: script.status ?? 200, headers: { "content-type": "application/json", ...script.headers } };
    const reply = () => (script.raw === undefined ? Response.json(script.body, init) : new Response(script.raw, init));
    return script.delayMs ? sleep(script.delayMs).then(reply) : reply();
  }
  if (script.kind === "hang") {
    return new Promise<Response>((resolve) =>
      signal.addEventListener("abort", () => {
        onHangAborted();
        resolve(new Response(null, { status: 499 }));
      }),
    );
  }
  const bytes = encoder.encode(script.text);
  const limit = script.cutAfterBytes ?? bytes.length;
  const size = script.chunkSize ?? 64;
  const stream = new ReadableStream<Uint8Array>({
    async pull(controller) {
      if (script.delayMs && offset === 0) await sleep(script.delayMs);
      if (offset >= limit) {
        if (script.cutAfterBytes !== undefined) controller.error(new Error("cut"));
        else if (!script.holdOpen) controller.close();
        return;
      }
      if (script.chunkDelayMs && offset > 0) await sleep(script.chunkDelayMs);
      const end = Math.min(offset + size, limit);
      controller.enqueue(bytes.slice(offset, end));
      offset = end;
    },
  });
  let offset = 0;
  return new Response(stream, { status: script.status ?? 200, headers: { "content-type": "text/event-stream" } });
}

export async function startFakeUpstream(dialect: "openai" | "anthropic"): Promise<FakeUpstream> {
  const received: ReceivedRequest[] = [];
  const queue: Script[] = [];
  let hangsAborted = 0;
  const onHangAborted = () => hangsAborted++;
  const server = Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    idleTimeout: 30,
    async fetch(request) {
      const url = new URL(request.url);
      const body = (await request.json().catch(() => ({}))) as Record<string, unknown>;
      received.push({ path: url.pathname, headers: request.headers, body });
      const scripted = queue.shift();
      if (scripted) return respond(scripted, request.signal, onHangAborted);
      if (url.pathname.endsWith("/embeddings")) {
        const inputs = Array.isArray(body.input) ? body.input : [body.input];
        return Response.json({ object: "list", data: inputs.map((_, index) => ({ object: "embedding", index, embedding: [0.1, 0.2, 0.3] })), model: body.model, usage: { prompt_tokens: 7, total_tokens: 7 } });
      }
      if (url.pathname.endsWith("/count_tokens")) return Response.json({ input_tokens: 4242 });
      return respond(dialect === "openai" ? openAIDefault(body) : anthropicDefault(body), request.signal, onHangAborted);
    },
    error() {
      return new Response(null, { status: 500 });
    },
  });
  return {
    url: `http://127.0.0.1:${server.port}`,
    received,
    get hangsAborted() {
      return hangsAborted;
    },
    script: (...scripts) => queue.push(...scripts),
    close: () => server.stop(true),
  };
}
