// The layering of ARCHITECTURE.md as checks (`npm test` runs `depcruise workers`). A rule broken here is a
// design change: change ARCHITECTURE.md first, then the rule.
/** @type {import("dependency-cruiser").IConfiguration} */
module.exports = {
  forbidden: [
    {
      name: "no-folder-cycles",
      comment: "The folders of workers/ form a pipeline: no two of them may depend on each other, however indirectly.",
      severity: "error",
      scope: "folder",
      from: { path: "^workers/" },
      to: { circular: true },
    },
    {
      name: "no-module-cycles",
      comment: "No module may import itself back, however indirectly (type-only imports vanish at compile time and may).",
      severity: "error",
      from: { path: "^workers/" },
      to: { circular: true, viaOnly: { dependencyTypesNot: ["type-only"] } },
    },
    {
      name: "api-not-delivery",
      comment: "api/ and delivery/ never import each other: the API hands work to the queue, the consumer never calls the API.",
      severity: "error",
      from: { path: "^workers/api/" },
      to: { path: "^workers/delivery/" },
    },
    {
      name: "delivery-not-api",
      comment: "api/ and delivery/ never import each other.",
      severity: "error",
      from: { path: "^workers/delivery/" },
      to: { path: "^workers/api/" },
    },
    {
      name: "db-is-the-bottom",
      comment: "db/ holds the schema and the queries; it imports none of the pipeline's stages.",
      severity: "error",
      from: { path: "^workers/db/" },
      to: { path: "^workers/(api|delivery|ingest|queue|endpoint-health|alerts|retention|portal|outbound)/" },
    },
    {
      name: "svix-over-routes",
      comment: "api/svix/ imports api/routes/, never the reverse.",
      severity: "error",
      from: { path: "^workers/api/routes/" },
      to: { path: "^workers/api/svix/" },
    },
    {
      name: "workers-not-tooling",
      comment: "The Worker bundles nothing from tests, scripts, benchmarks or the dashboard.",
      severity: "error",
      from: { path: "^workers/" },
      to: { path: "^(test|scripts|bench|dashboard)/" },
    },
  ],
  options: {
    doNotFollow: { path: "node_modules" },
    tsConfig: { fileName: "tsconfig.json" },
    tsPreCompilationDeps: true,
    exclude: { path: "\\.d\\.ts$" },
  },
};
