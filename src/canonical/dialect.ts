/** The two wire dialects: what a client speaks, and what an `openai` or `anthropic` upstream speaks. */
export type Dialect = "openai" | "anthropic";
