import { defineConfig } from "vitest/config";

const stress = process.env.NP_STRESS === "1";

export default defineConfig({
  test: {
    // As Convex's own components do: Node-only APIs fail here as in Convex.
    environment: "edge-runtime",
    server: { deps: { inline: ["convex-test"] } },
    // `npm run test:stress` (NP_STRESS=1) runs the long tests of test/stress
    // instead; `npm test` leaves them out.
    include: stress ? ["test/stress/**/*.test.ts"] : ["convex/**/*.test.ts", "test/**/*.test.ts"],
    exclude: stress ? [] : ["test/stress/**", "**/node_modules/**"],
    testTimeout: 120_000,
    // The functions print the classic lines on every dispatch: tens of
    // thousands of lines over a run. Show them only for a test that failed.
    silent: "passed-only",
    // CI also writes a JSON report, for the closing count in .ci/run.
    reporters: process.env.CI
      ? ["default", ["json", { outputFile: `test-results/vitest${stress ? "-stress" : ""}.json` }]]
      : ["default"],
  },
});
