import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    // As Convex's own components do: Node-only APIs fail here as in Convex.
    environment: "edge-runtime",
    server: { deps: { inline: ["convex-test"] } },
    include: ["convex/**/*.test.ts", "test/**/*.test.ts"],
    testTimeout: 120_000,
    // The functions print the classic lines on every dispatch: tens of
    // thousands of lines over a run. Show them only for a test that failed.
    silent: "passed-only",
    // CI also writes a JSON report, for the closing count in .ci/run.
    reporters: process.env.CI
      ? ["default", ["json", { outputFile: "test-results/vitest.json" }]]
      : ["default"],
  },
});
