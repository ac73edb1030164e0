/**
 * Token usage in Tollgate's meaning (Anthropic's): `input` excludes cache reads and writes, `output`
 * includes reasoning, which is also reported apart.
 */

export interface Usage {
  input: number;
  output: number;
  cacheRead: number;
  cacheWrite: number;
  reasoning: number;
}

export function emptyUsage(): Usage {
  return { input: 0, output: 0, cacheRead: 0, cacheWrite: 0, reasoning: 0 };
}

export function addUsage(a: Usage, b: Usage): Usage {
  return {
    input: a.input + b.input,
    output: a.output + b.output,
    cacheRead: a.cacheRead + b.cacheRead,
    cacheWrite: a.cacheWrite + b.cacheWrite,
    reasoning: a.reasoning + b.reasoning,
  };
}

/** Later usage figures replace earlier ones field by field where they are present (stream updates). */
export function mergeUsage(base: Usage, update: Partial<Usage>): Usage {
  return {
    input: update.input ?? base.input,
    output: update.output ?? base.output,
    cacheRead: update.cacheRead ?? base.cacheRead,
    cacheWrite: update.cacheWrite ?? base.cacheWrite,
    reasoning: update.reasoning ?? base.reasoning,
  };
}

export function totalTokens(usage: Usage): number {
  return usage.input + usage.cacheRead + usage.cacheWrite + usage.output;
}

/**
 * Counts as whole tokens: upstreams' usage is checked to be numbers, not integers, and an exact cost
 * needs integers (a fractional count would stop the charge); a fraction is rounded up, anything not a
 * finite positive number is 0.
 */
export function wholeUsage(usage: Usage): Usage {
  const whole = (count: number) => (Number.isFinite(count) && count > 0 ? Math.ceil(count) : 0);
  return { input: whole(usage.input), output: whole(usage.output), cacheRead: whole(usage.cacheRead), cacheWrite: whole(usage.cacheWrite), reasoning: whole(usage.reasoning) };
}
