// Builds the pages into dist/ (served by `mediasight serve` under /static): one content-hashed bundle per
// entry, index.html naming them, and GraphiQL's own files copied from npm packages (nothing from a CDN).
import { build } from "esbuild";
import { cpSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { basename, dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const out = join(here, "dist");
const dev = process.argv.includes("--dev");

rmSync(out, { recursive: true, force: true });
mkdirSync(join(out, "graphiql"), { recursive: true });

const result = await build({
  entryPoints: { app: join(here, "src/main.tsx"), "graphiql-start": join(here, "src/graphiql-start.ts") },
  bundle: true,
  format: "esm",
  target: "es2022",
  minify: !dev,
  sourcemap: dev ? "inline" : false,
  jsx: "automatic",
  jsxImportSource: "preact",
  entryNames: "[name]-[hash]",
  outdir: out,
  metafile: true,
  logLevel: "warning",
});

// entry name -> built file, e.g. {"app.js": "app-5HX2.js", "app.css": "app-Q3AB.css"}
const manifest = {};
for (const [file, meta] of Object.entries(result.metafile.outputs)) {
  const built = basename(file);
  const entry = meta.entryPoint ? basename(meta.entryPoint).replace(/\.tsx?$/, "") : null;
  const name = built.replace(/-[A-Z0-9]+\./, ".");
  if (entry || file.endsWith(".css")) manifest[name] = built;
}

// GraphiQL 3 as its authors ship it for script tags: React UMD builds, graphiql and the explorer plugin.
const graphiql = {
  "react.production.min.js": "react/umd/react.production.min.js",
  "react-dom.production.min.js": "react-dom/umd/react-dom.production.min.js",
  "graphiql.min.js": "graphiql/graphiql.min.js",
  "graphiql.min.css": "graphiql/graphiql.min.css",
  "explorer.umd.js": "@graphiql/plugin-explorer/dist/index.umd.js",
  "explorer.css": "@graphiql/plugin-explorer/dist/style.css",
};
for (const [name, from] of Object.entries(graphiql)) {
  cpSync(join(here, "node_modules", from), join(out, "graphiql", name));
}

const shell = readFileSync(join(here, "src/index.html"), "utf8")
  .replaceAll("{{app.js}}", manifest["app.js"])
  .replaceAll("{{app.css}}", manifest["app.css"]);
writeFileSync(join(out, "index.html"), shell);
writeFileSync(join(out, "manifest.json"), JSON.stringify(manifest, null, 2) + "\n");
console.log(`built ${Object.values(manifest).join(", ")} and GraphiQL into ${out}`);
