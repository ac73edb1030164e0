/**
 * The built-in demo config: config.example.toml itself, embedded in the binary. It serves every model
 * from the local `mock` provider, so `tollgate serve` works offline, and it is what `tollgate init`
 * writes as a starter.
 */

import exampleToml from "../../config.example.toml" with { type: "text" };

export const DEMO_CONFIG_TOML: string = exampleToml;
