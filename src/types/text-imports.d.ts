// Files embedded as text by `import x from "…" with { type: "text" }` (Bun; kept in the compiled binary).
declare module "*.sql" {
  const text: string;
  export default text;
}
declare module "*.toml" {
  const text: string;
  export default text;
}
// Files embedded as files by `import path from "…" with { type: "file" }`: the import is a path to read.
declare module "*.ranks" {
  const path: string;
  export default path;
}
