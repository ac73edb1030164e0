/** `tollgate wallet credit` (an operator grant) and `tollgate wallet show`. */

import { grantCredit } from "../billing/ledger.ts";
import { formatUsd, parseUsdText, toSafeMicrocents } from "../billing/money.ts";
import { newId } from "../lib/ids.ts";
import { walletDocument } from "../management/documents.ts";
import type { Command } from "./command.ts";
import { requireWorkspace, withCommandEnv } from "./context.ts";
import { COMMON_OPTIONS, parseCommandArgs, printJson, UsageError } from "./io.ts";

const OPTIONS = {
  ...COMMON_OPTIONS,
  workspace: { type: "string" },
  usd: { type: "string" },
  note: { type: "string" },
} as const;

export const walletCommand: Command = {
  name: "wallet",
  summary: "credit or show a workspace's wallet",
  usage:
    "tollgate wallet credit --workspace NAME --usd AMOUNT [--note TEXT] [--config FILE] [--json]\n       tollgate wallet show --workspace NAME [--config FILE] [--json]",
  async run(args, io) {
    const { values, positionals } = parseCommandArgs(args, OPTIONS, { min: 1, max: 1 });
    const action = positionals[0];
    if (!values.workspace) throw new UsageError(`wallet ${action ?? ""} needs --workspace NAME`.replace("  ", " "));
    const workspaceName = values.workspace;
    if (action === "credit") {
      const amount = values.usd === undefined ? null : parseUsdText(values.usd);
      if (amount === null || amount <= 0n) throw new UsageError("wallet credit needs --usd AMOUNT, a positive amount like 10 or 2.50");
      return withCommandEnv(io, values.config, async (env) => {
        const workspace = await requireWorkspace(env, workspaceName);
        const result = grantCredit(env.database.db, {
          workspaceId: workspace.id,
          amountMicrocents: toSafeMicrocents(amount),
          source: "grant",
          note: values.note ?? null,
          nowMs: Date.now(),
          validityDays: env.config.billing.creditValidityDays,
          idempotencyKey: newId("grant"),
        });
        if (values.json) printJson(io, { workspace: workspace.name, lot_id: result.lotId, amount_microcents: Number(amount), balance_microcents: result.balanceAfterMicrocents });
        else io.stderr(`credited ${formatUsd(amount)} to '${workspace.name}' (lot ${result.lotId}); balance ${formatUsd(result.balanceAfterMicrocents)}\n`);
        return 0;
      });
    }
    if (action === "show") {
      if (values.usd !== undefined || values.note !== undefined) throw new UsageError("wallet show takes only --workspace");
      return withCommandEnv(io, values.config, async (env) => {
        const workspace = await requireWorkspace(env, workspaceName);
        // Holds live in a running server's memory; from the CLI nothing is held.
        const document = walletDocument(env.config, env.database.db, workspace, 0, Date.now());
        if (values.json) printJson(io, document);
        else {
          io.stdout(`workspace ${workspace.name}: balance ${formatUsd(document.balance_microcents)}`);
          io.stdout(document.balance_tokens === null ? "\n" : ` (≈ ${document.balance_tokens} tokens)\n`);
          for (const lot of document.lots)
            io.stdout(`  ${lot.id}  ${lot.source}  ${formatUsd(lot.remaining_microcents)} of ${formatUsd(lot.amount_microcents)}  expires ${lot.expires_at}\n`);
        }
        return 0;
      });
    }
    throw new UsageError(`unknown subcommand '${action}'`);
  },
};
