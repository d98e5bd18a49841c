/**
 * Vite configuration of the web console (ui/README.md). `npm run build` (tools/build.ts) runs
 * `vite build` with this file into dist/ui; the control plane serves that folder at /ui/.
 * JSX is compiled by Oxc (Vite 8) with Preact's automatic runtime (no plugin needed).
 */
import { defineConfig } from "vite";

export default defineConfig({
  root: import.meta.dirname,
  base: "/ui/",
  logLevel: "warn",
  oxc: { jsx: { runtime: "automatic", importSource: "preact" } },
  build: { outDir: "../dist/ui", emptyOutDir: true, target: "es2022", sourcemap: false, chunkSizeWarningLimit: 200 },
});
