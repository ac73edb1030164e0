/** `tollgate ledger verify`: recompute every wallet from its ledger; exit 1 on any mismatch. */

import { verifyLedger } from "../billing/ledger.ts";
import type { Command } from "./command.ts";
import { withCommandEnv } from "./context.ts";
import { COMMON_OPTIONS, parseCommandArgs, printJson, UsageError } from "./io.ts";

export const ledgerCommand: Command = {
  name: "ledger",
  summary: "ledger verify: recompute every wallet from its ledger",
  usage: "tollgate ledger verify [--config FILE] [--json]",
  async run(args, io) {
    const { values, positionals } = parseCommandArgs(args, COMMON_OPTIONS, { min: 1, max: 1 });
    if (positionals[0] !== "verify") throw new UsageError(`unknown subcommand '${positionals[0]}'`);
    return withCommandEnv(io, values.config, async (env) => {
      const report = verifyLedger(env.database.db);
      const ok = report.problems.length === 0;
      if (values.json) printJson(io, { ok, workspaces: report.workspaces, entries: report.entries, problems: report.problems });
      else {
        for (const problem of report.problems) io.stderr(`MISMATCH ${problem.workspaceId}: ${problem.problem}\n`);
        io.stderr(`${ok ? "ledger OK" : "ledger FAILED"}: ${report.workspaces} workspace(s), ${report.entries} entries, ${report.problems.length} problem(s)\n`);
      }
      return ok ? 0 : 1;
    });
  },
};
