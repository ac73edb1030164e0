/** The shape of a CLI command: its usage text and a run function returning the exit code. */

import type { CliIo } from "./io.ts";

export interface Command {
  name: string;
  summary: string;
  usage: string;
  run(args: string[], io: CliIo): Promise<number>;
}
