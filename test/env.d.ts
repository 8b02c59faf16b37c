declare namespace Cloudflare {
  interface Env {
    TEST_MIGRATIONS: import("cloudflare:test").D1Migration[];
    /** The API fuzzer's seed, runs per operation and single-operation filter (test/unit/fuzz). */
    FUZZ_SEED?: string;
    FUZZ_RUNS?: string;
    FUZZ_ONLY?: string;
  }
}
