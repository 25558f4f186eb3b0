import { defineConfig } from "vitest/config";

// No wall-clock limits in tests: the timeouts below only stop a hung run.
export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    testTimeout: 600_000,
    hookTimeout: 600_000,
    fileParallelism: false,
    reporters: ["default"],
  },
});
