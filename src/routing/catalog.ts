/**
 * Model catalog: a requested model id → its profile. Exact ids first, then alias globs, the most
 * specific first (more literal characters wins; "*" alone is the catch-all, tried last).
 */

import type { ModelProfile } from "../config/types.ts";

interface AliasMatcher {
  pattern: RegExp;
  specificity: number;
  profile: ModelProfile;
}

function globToRegExp(glob: string): RegExp {
  const escaped = glob.split("*").map((part) => part.replace(/[.+?^${}()|[\]\\]/g, "\\$&"));
  // "s": a "*" matches any characters, line terminators (U+2028, \n) included.
  return new RegExp(`^${escaped.join(".*")}$`, "s");
}

const RESOLVED_CACHE_LIMIT = 10_000;
/** The longest model id the wire schemas accept; longer ones are never cached (each could pin megabytes). */
export const MAX_MODEL_ID_LENGTH = 256;

export class Catalog {
  private readonly byId = new Map<string, ModelProfile>();
  private readonly aliases: AliasMatcher[] = [];
  /** Requested id → profile (or null): ids repeat, so each is matched once. */
  private readonly resolved = new Map<string, ModelProfile | null>();

  constructor(readonly models: readonly ModelProfile[]) {
    for (const profile of models) {
      this.byId.set(profile.id, profile);
      for (const alias of profile.aliases) {
        if (!alias.includes("*")) this.byId.set(alias, this.byId.get(alias) ?? profile);
        else this.aliases.push({ pattern: globToRegExp(alias), specificity: alias.replace(/\*/g, "").length, profile });
      }
    }
    this.aliases.sort((a, b) => b.specificity - a.specificity);
  }

  resolve(modelId: string): ModelProfile | null {
    const exact = this.byId.get(modelId);
    if (exact) return exact;
    const cached = this.resolved.get(modelId);
    if (cached !== undefined) return cached;
    const found = this.aliases.find((alias) => alias.pattern.test(modelId))?.profile ?? null;
    if (modelId.length > MAX_MODEL_ID_LENGTH) return found;
    if (this.resolved.size >= RESOLVED_CACHE_LIMIT) this.resolved.clear();
    this.resolved.set(modelId, found);
    return found;
  }

  get(id: string): ModelProfile | null {
    return this.models.find((profile) => profile.id === id) ?? null;
  }
}
