/**
 * Key lookups on the hot path: key hash → key and workspace settings, cached for `key_cache_ttl_ms`
 * (lru-cache). A revocation or a settings change made in this process evicts at once; one made by
 * another process (the CLI) is seen when the entry expires. Unknown hashes are cached too (as null):
 * a new key is a new random hash, so a negative entry can never hide it.
 */

import { LRUCache } from "lru-cache";
import type { KeyRepo, KeyWithWorkspace } from "../db/repo/keys.ts";
import { hashKey } from "./keys.ts";

const MAX_ENTRIES = 100_000;

export class KeyCache {
  private readonly entries: LRUCache<string, KeyWithWorkspace | false>;

  constructor(
    private readonly repo: KeyRepo,
    ttlMs: number,
  ) {
    // Bounded by maxSize (one unit per entry), not `max`: with `max` lru-cache preallocates every slot up
    // front, which cost 10–20 ms of start-up and a few MB of RSS for 100k entries.
    this.entries = new LRUCache({ maxSize: MAX_ENTRIES, sizeCalculation: () => 1, ttl: Math.max(ttlMs, 1), ttlAutopurge: false });
  }

  /** The active key for a presented secret, or null. */
  async lookup(presentedKey: string): Promise<KeyWithWorkspace | null> {
    const hash = hashKey(presentedKey);
    const cached = this.entries.get(hash);
    if (cached !== undefined) return cached || null;
    const found = await this.repo.findActiveByHash(hash);
    this.entries.set(hash, found ?? false);
    return found;
  }

  /** Drops a key (revoked or changed here) so the next lookup reads the database. */
  evictHash(hash: string): void {
    this.entries.delete(hash);
  }

  /** Drops every key of a workspace (its settings changed). */
  evictWorkspace(workspaceId: string): void {
    for (const [hash, entry] of this.entries.entries()) {
      if (entry && entry.workspace.id === workspaceId) this.entries.delete(hash);
    }
  }
}
