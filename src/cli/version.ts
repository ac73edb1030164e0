/** `tollgate version`: version and commit (stamped at build time; "dev" when run from source). */

import packageJson from "../../package.json";
import type { Command } from "./command.ts";
import { COMMON_OPTIONS, parseCommandArgs, printJson } from "./io.ts";

declare const TOLLGATE_COMMIT: string | undefined;

export const VERSION: string = packageJson.version;
export const COMMIT: string = typeof TOLLGATE_COMMIT === "string" ? TOLLGATE_COMMIT : "dev";

export const versionCommand: Command = {
  name: "version",
  summary: "print the version and commit",
  usage: "tollgate version [--json]",
  async run(args, io) {
    const { values } = parseCommandArgs(args, COMMON_OPTIONS, { min: 0, max: 0 });
    if (values.json) printJson(io, { version: VERSION, commit: COMMIT });
    else io.stdout(`tollgate ${VERSION} (commit ${COMMIT})\n`);
    return 0;
  },
};
