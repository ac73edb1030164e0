/**
 * The line `serve` prints on stdout once it listens: the only place its address can be read when it was
 * started on port 0 (scripts, the test harness and the benches read it back with `listeningAddress`).
 */

export function listeningLine(address: string, config: string): string {
  return `tollgate listening on ${address} (config: ${config})\n`;
}

/** The address of the first listening line in `text`, once the line holds all of it (a read can end mid-address); else null. */
export function listeningAddress(text: string): string | null {
  return /tollgate listening on (http:\/\/\S+)\s/.exec(text)?.[1] ?? null;
}
