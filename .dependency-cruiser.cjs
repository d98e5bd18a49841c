/**
 * Olelo's architecture rules (issue 12), checked by test/architecture.test.ts through
 * dependency-cruiser's API, and by hand with:
 *   npx depcruise --config .dependency-cruiser.cjs lib tables data-plane control-plane cli gen
 *
 * The house:
 *   lib/            pure libraries: import only lib/ (and npm / node:)
 *   tables/         the contract between the planes: lib/, gen/, npm; no plane, no cli
 *   data-plane/     core ↛ modules; a module ↛ another module's files except that module's
 *                   exported API (its api.ts / index.ts); ↛ control-plane
 *   control-plane/  ↛ data-plane (both planes share tables/, lib/, gen/)
 *   cli/            talks to the planes over JSON-RPC only; the doc generators named below excepted
 *   ui/             the web console (browser code): talks to the control plane over HTTP only, imports
 *                   no repository folder; nothing imports ui/
 *   everywhere      no import cycles in production code (tests excluded), type-only imports included
 *
 * Test files are in scope of the boundary rules too (a test of a module tests that module), except
 * where a rule says otherwise.
 */

/** cli files allowed to import a plane, by name: they read descriptors to generate docs / check them. */
const CLI_DOC_GENERATORS = [
  "^cli/gen-rpc-docs\\.ts$",
  "^cli/gen-rpc-docs\\.test\\.ts$",
  // reads the control plane's management method descriptors for gen-rpc-docs --cp-api and its test
  "^cli/control-plane-api\\.ts$",
  // end-to-end test of olectl against a real control plane and node (it stands them up; olectl itself talks JSON-RPC)
  "^cli/olectl\\.test\\.ts$",
];

/** Not production code: tests and their helpers. */
const NOT_PRODUCTION = ["\\.test\\.ts$", "(^|/)test-support\\.ts$", "(^|/)testing/", "^test/", "^bench/"];

module.exports = {
  forbidden: [
    {
      name: "core-not-to-modules",
      comment: "data-plane/core is the host; modules plug into it through core/api.ts, core never imports a module.",
      severity: "error",
      from: { path: "^data-plane/core/" },
      to: { path: "^data-plane/modules/" },
    },
    {
      name: "module-not-to-other-module-internals",
      comment:
        "A module uses another module only through the typed API that module exports (its api.ts / index.ts), " +
        "obtained via host.modules / requires, never by importing its files.",
      severity: "error",
      from: { path: "^data-plane/modules/([^/]+)/" },
      to: {
        path: "^data-plane/modules/[^/]+/",
        pathNot: ["^data-plane/modules/$1/", "^data-plane/modules/[^/]+/(api|index)\\.ts$"],
      },
    },
    {
      name: "control-plane-not-to-data-plane",
      comment: "The planes share a contract (tables/, lib/, gen/), not code.",
      severity: "error",
      from: { path: "^control-plane/" },
      to: { path: "^data-plane/" },
    },
    {
      name: "data-plane-not-to-control-plane",
      comment: "The planes share a contract (tables/, lib/, gen/), not code.",
      severity: "error",
      from: { path: "^data-plane/" },
      to: { path: "^control-plane/" },
    },
    {
      name: "lib-only-to-lib",
      comment: "lib/ holds pure libraries: they import lib/, npm packages and node: built-ins only.",
      severity: "error",
      from: { path: "^lib/" },
      to: { path: "^(data-plane|control-plane|cli|tables|gen|test|bench|etc|proto)/" },
    },
    {
      name: "tables-not-to-planes",
      comment: "tables/ is the contract between the planes: lib/, gen/ and npm only.",
      severity: "error",
      from: { path: "^tables/" },
      to: { path: "^(data-plane|control-plane|cli|test|bench)/" },
    },
    {
      name: "cli-only-over-json-rpc",
      comment: "olectl reaches either plane over JSON-RPC; only the doc generators named in CLI_DOC_GENERATORS import a plane.",
      severity: "error",
      from: { path: "^cli/", pathNot: CLI_DOC_GENERATORS },
      to: { path: "^(data-plane|control-plane)/" },
    },
    {
      name: "ui-only-over-http",
      comment: "The web console runs in the browser and reaches the control plane over HTTP (/RPC, /ui/session) only.",
      severity: "error",
      from: { path: "^ui/" },
      to: { path: "^(lib|tables|gen|data-plane|control-plane|cli|test|bench|etc|proto|tools)/" },
    },
    {
      name: "nothing-imports-ui",
      comment: "ui/ is built by Vite into static files; no Node program imports it.",
      severity: "error",
      from: { path: "^(lib|tables|gen|data-plane|control-plane|cli)/" },
      to: { path: "^ui/" },
    },
    {
      name: "no-circular",
      comment: "No import cycles in production code (type-only imports count).",
      severity: "error",
      from: { pathNot: NOT_PRODUCTION },
      to: { circular: true, viaOnly: { pathNot: NOT_PRODUCTION } },
    },
    {
      name: "not-to-unresolvable",
      comment: "An import that does not resolve is a typo or a moved file whose importers were not updated.",
      severity: "error",
      from: {},
      to: { couldNotResolve: true },
    },
  ],
  options: {
    // type-only imports are dependencies too (an `import type` cycle is still a cycle in the design)
    tsPreCompilationDeps: true,
    tsConfig: { fileName: "tsconfig.json" },
    doNotFollow: { path: "node_modules" },
    exclude: { path: "(^|/)node_modules/" },
    enhancedResolveOptions: {
      exportsFields: ["exports"],
      conditionNames: ["import", "require", "node", "default", "types"],
      extensions: [".ts", ".tsx", ".js", ".mjs", ".cjs", ".d.ts", ".json"],
    },
    moduleSystems: ["es6", "cjs"],
  },
};
