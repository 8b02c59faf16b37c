import path from "node:path";
import { cloudflareTest, readD1Migrations } from "@cloudflare/vitest-pool-workers";
import { defineConfig } from "vitest/config";

export default defineConfig(async () => {
  const migrations = await readD1Migrations(path.join(import.meta.dirname, "migrations"));
  return {
    plugins: [
      cloudflareTest({
        // `main` runs in the tests' isolate: its exports, DO class and consumer are the real ones, and
        // `vi.spyOn(globalThis, "fetch")` sees the consumer's outbound requests.
        main: "./workers/index.ts",
        wrangler: { configPath: "./wrangler.toml" },
        miniflare: {
          bindings: {
            TEST_MIGRATIONS: migrations,
            ADMIN_TOKEN: "test-admin-token",
            ALLOW_PRIVATE_NETWORK: "false",
            RETRY_SCHEDULE: "",
            FUZZ_SEED: process.env.FUZZ_SEED ?? "",
            FUZZ_RUNS: process.env.FUZZ_RUNS ?? "",
            FUZZ_ONLY: process.env.FUZZ_ONLY ?? "",
          },
        },
      }),
    ],
    test: {
      include: ["test/unit/**/*.test.ts"],
      setupFiles: ["./test/unit/apply-migrations.ts"],
      // Guards against a hang, not measurements: on a loaded 2-core machine the suite ran 8x slower than idle
      // and vitest's 5 s / 10 s defaults failed healthy tests.
      testTimeout: 30_000,
      hookTimeout: 60_000,
    },
  };
});
