// Fails when the committed dist/ is not what `npm run build` produces from the current sources
// (forgotten rebuild, or a non-deterministic build). Builds into a temporary directory and
// compares every file byte for byte.
//
// Usage: npm run check-dist

import { execFileSync } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const scratch = mkdtempSync(join(tmpdir(), "portcullis-dist-"));
const fresh = join(scratch, "dist");

function files(dir) {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? files(path) : [path];
  });
}

try {
  execFileSync(process.execPath, [join(root, "scripts/build.mjs"), fresh], {
    cwd: root,
    stdio: "inherit",
  });
  const committed = join(root, "dist");
  const want = files(fresh)
    .map((f) => relative(fresh, f))
    .sort();
  const have = files(committed)
    .map((f) => relative(committed, f))
    .sort();
  const problems = [];
  for (const name of new Set([...want, ...have])) {
    if (!want.includes(name)) problems.push(`extra file dist/${name}`);
    else if (!have.includes(name)) problems.push(`missing file dist/${name}`);
    else if (!readFileSync(join(fresh, name)).equals(readFileSync(join(committed, name)))) {
      problems.push(`dist/${name} differs from a fresh build`);
    }
  }
  if (problems.length > 0) {
    console.error(`dist/ is out of date; run \`npm run build\`:\n  ${problems.join("\n  ")}`);
    process.exitCode = 1;
  } else {
    console.log(`dist/ matches a fresh build (${want.length} files)`);
  }
} finally {
  rmSync(scratch, { recursive: true, force: true });
}
