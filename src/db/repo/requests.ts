/** Request records ("generations"): one row per inference call that reached a workspace. */

import { eq } from "drizzle-orm";
import type { TollgateDb } from "../client.ts";
import { requests } from "../schema.ts";

export type RequestRow = typeof requests.$inferSelect;
export type NewRequestRow = typeof requests.$inferInsert;

export class RequestRepo {
  constructor(private readonly db: TollgateDb) {}

  async findById(requestId: string): Promise<RequestRow | null> {
    return this.db.select().from(requests).where(eq(requests.requestId, requestId)).get() ?? null;
  }
}
