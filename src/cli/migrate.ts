/** `tollgate migrate`: apply pending migrations to the configured database. */

import { loadConfig } from "../config/load.ts";
import { openDatabase } from "../db/client.ts";
import { migrateDatabase } from "../db/migrate.ts";
import type { Command } from "./command.ts";
import { COMMON_OPTIONS, parseCommandArgs, printJson } from "./io.ts";

export const migrateCommand: Command = {
  name: "migrate",
  summary: "create or upgrade the database",
  usage: "tollgate migrate [--config FILE] [--json]",
  async run(args, io) {
    const { values } = parseCommandArgs(args, COMMON_OPTIONS, { min: 0, max: 0 });
    const { config } = loadConfig({ explicitPath: values.config, env: io.env, cwd: io.cwd });
    const database = openDatabase(config.server.database);
    try {
      const applied = migrateDatabase(database.db);
      if (values.json) printJson(io, { database: config.server.database, applied });
      else io.stderr(applied === 0 ? `database ${config.server.database} is up to date\n` : `applied ${applied} migration(s) to ${config.server.database}\n`);
      return 0;
    } finally {
      database.close();
    }
  },
};
