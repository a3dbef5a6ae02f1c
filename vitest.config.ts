import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    testTimeout: 30_000,
    hookTimeout: 30_000,
    // Process-heavy tests (git, child processes) share 2 cores; keep the pool small.
    maxWorkers: 2,
  },
});
