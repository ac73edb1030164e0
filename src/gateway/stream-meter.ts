/**
 * What a relay measures while a stream passes: the upstream's start usage, output tokens counted by the
 * gateway, and the time to the first token. Where the upstream reports no input count (OpenAI streams
 * give usage only at the end) or no usage at all, the gateway's own count stands in, so no call is free.
 */

import type { ChatEvent } from "../canonical/events.ts";
import { estimateTextTokens } from "../canonical/token-estimate.ts";
import { emptyUsage, type Usage } from "../canonical/usage.ts";

export class StreamMeter {
  private startUsage: Usage = emptyUsage();
  private countedOutput = 0;
  ttftMs: number | null = null;

  constructor(
    private readonly startedAtPerf: number,
    /** The gateway's input count for this request. */
    private readonly inputTokens: number,
  ) {}

  /** Records an event; a start without an input count gets the gateway's (message_start must carry it). */
  observe(event: ChatEvent): void {
    if (event.type === "start") {
      if (event.usage.input === 0 && event.usage.cacheRead === 0 && event.usage.cacheWrite === 0) {
        event.usage = { ...event.usage, input: this.inputTokens };
      }
      this.startUsage = event.usage;
    } else if (event.type === "block-delta") {
      if (this.ttftMs === null) this.ttftMs = Math.round(performance.now() - this.startedAtPerf);
      const delta = event.delta;
      if (delta.type === "text" || delta.type === "thinking") this.countedOutput += estimateTextTokens(delta.text);
      else if (delta.type === "tool-input") this.countedOutput += estimateTextTokens(delta.partialJson);
    } else if (event.type === "text-run") {
      if (this.ttftMs === null) this.ttftMs = Math.round(performance.now() - this.startedAtPerf);
      this.countedOutput += event.run.tokens;
    } else if (event.type === "finish") {
      event.usage = billableUsage(event.usage, this.inputTokens, this.countedOutput);
    }
  }

  /** Usage of a stream that ended early: its input, and the output produced so far. */
  partialUsage(): Usage {
    const input = this.startUsage.input + this.startUsage.cacheRead + this.startUsage.cacheWrite === 0 ? this.inputTokens : this.startUsage.input;
    return { ...this.startUsage, input, output: Math.max(this.startUsage.output, this.countedOutput) };
  }
}

/** The upstream's usage, or the gateway's counts where it reported nothing. */
export function billableUsage(usage: Usage, inputTokens: number, outputTokens: number): Usage {
  const reportedInput = usage.input + usage.cacheRead + usage.cacheWrite > 0;
  return {
    ...usage,
    input: reportedInput ? usage.input : inputTokens,
    output: usage.output > 0 ? usage.output : outputTokens,
  };
}
