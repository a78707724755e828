/**
 * `npm run simulate`: the North Pole offline. The project's own Convex
 * functions run in-process on convex-test's backend, in virtual time, with no
 * deployment and no network (scripts/simulator.ts). Prints the classic lines
 * as they happen, then a summary; exits non-zero if the independent checker
 * saw a rule broken. `--help` says it all; the work is in
 * scripts/simulate-cli.ts.
 */
import { main } from "./simulate-cli";

// Ctrl-C stops at once (a run in virtual time has nothing to clean up; the
// live view puts the terminal back on exit).
process.on("SIGINT", () => process.exit(130));
process.on("SIGTERM", () => process.exit(143));

const code = await main(process.argv.slice(2), {
  stdout: process.stdout,
  stderr: process.stderr,
});
process.exit(code);
