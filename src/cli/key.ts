/** `tollgate key create --workspace NAME --kind live|mgmt` and `tollgate key revoke ID`. */

import { KeyRepo } from "../db/repo/keys.ts";
import { createdKeyDocument } from "../management/documents.ts";
import type { Command } from "./command.ts";
import { requireWorkspace, withCommandEnv } from "./context.ts";
import { CliFailure, COMMON_OPTIONS, parseCommandArgs, printJson, UsageError } from "./io.ts";

const OPTIONS = {
  ...COMMON_OPTIONS,
  workspace: { type: "string" },
  kind: { type: "string" },
  name: { type: "string" },
} as const;

export const keyCommand: Command = {
  name: "key",
  summary: "create or revoke API keys",
  usage:
    "tollgate key create --workspace NAME --kind live|mgmt [--name N] [--config FILE] [--json]\n       tollgate key revoke ID [--config FILE] [--json]",
  async run(args, io) {
    const { values, positionals } = parseCommandArgs(args, OPTIONS, { min: 1, max: 2 });
    const [action, id] = positionals;
    if (action === "create") {
      if (id !== undefined) throw new UsageError(`unexpected argument '${id}'`);
      if (!values.workspace) throw new UsageError("key create needs --workspace NAME");
      const kind = values.kind;
      if (kind !== "live" && kind !== "mgmt") throw new UsageError("key create needs --kind live or --kind mgmt");
      const workspaceName = values.workspace;
      return withCommandEnv(io, values.config, async (env) => {
        const workspace = await requireWorkspace(env, workspaceName);
        const created = await new KeyRepo(env.database.db).create({
          workspaceId: workspace.id,
          kind,
          name: values.name ?? (kind === "live" ? "inference" : "management"),
          nowMs: Date.now(),
        });
        const document = createdKeyDocument(created.row, created.key);
        if (values.json) printJson(io, document);
        else {
          io.stderr(`created ${kind} key ${document.id} '${document.name}' in '${workspace.name}' (shown once):\n`);
          io.stdout(`${created.key}\n`);
        }
        return 0;
      });
    }
    if (action === "revoke") {
      if (!id) throw new UsageError("key revoke needs a key ID");
      return withCommandEnv(io, values.config, async (env) => {
        const revoked = await new KeyRepo(env.database.db).revoke(id, Date.now());
        if (!revoked) throw new CliFailure(`no active key with id '${id}'`);
        if (values.json) printJson(io, { id: revoked.id, revoked: true });
        else io.stderr(`revoked key ${revoked.id} (a running server stops accepting it within ${env.config.security.keyCacheTtlMs} ms)\n`);
        return 0;
      });
    }
    throw new UsageError(`unknown subcommand '${action}'`);
  },
};
