/** `tollgate workspace create NAME` and `tollgate workspace list`. */

import { KeyRepo } from "../db/repo/keys.ts";
import { workspaceDocument } from "../management/documents.ts";
import type { Command } from "./command.ts";
import { withCommandEnv } from "./context.ts";
import { CliFailure, COMMON_OPTIONS, parseCommandArgs, printJson, UsageError } from "./io.ts";

export const workspaceCommand: Command = {
  name: "workspace",
  summary: "create or list workspaces",
  usage: "tollgate workspace create NAME [--config FILE] [--json]\n       tollgate workspace list [--config FILE] [--json]",
  async run(args, io) {
    const { values, positionals } = parseCommandArgs(args, COMMON_OPTIONS, { min: 1, max: 2 });
    const [action, name] = positionals;
    if (action === "create") {
      if (!name) throw new UsageError("workspace create needs a NAME");
      if (!/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/.test(name))
        throw new UsageError("NAME must be 1-64 letters, digits, '.', '_' or '-', starting with a letter or digit");
      return withCommandEnv(io, values.config, async (env) => {
        if (await env.workspaces.findByName(name)) throw new CliFailure(`a workspace named '${name}' already exists`);
        const now = Date.now();
        const workspace = await env.workspaces.create(name, now);
        const created = await new KeyRepo(env.database.db).create({ workspaceId: workspace.id, kind: "mgmt", name: "cli", nowMs: now });
        if (values.json) printJson(io, { id: workspace.id, name: workspace.name, management_key: created.key });
        else {
          io.stderr(`created workspace '${name}' (${workspace.id})\nmanagement key (shown once):\n`);
          io.stdout(`${created.key}\n`);
        }
        return 0;
      });
    }
    if (action === "list") {
      if (name !== undefined) throw new UsageError(`unexpected argument '${name}'`);
      return withCommandEnv(io, values.config, async (env) => {
        const documents = (await env.workspaces.list()).map((row) => workspaceDocument(env.config, row));
        if (values.json) printJson(io, documents);
        else if (documents.length === 0) io.stderr("no workspaces yet (tollgate workspace create NAME)\n");
        else for (const doc of documents) io.stdout(`${doc.id}  ${doc.name}  tier=${doc.tier}  spent=${doc.lifetime_spend_microcents}µ¢\n`);
        return 0;
      });
    }
    throw new UsageError(`unknown subcommand '${action}'`);
  },
};
