import { cronJobs } from "convex/server";
import { internal } from "./_generated/api";
import { WATCHDOG_INTERVAL_SECONDS } from "./repair";

const crons = cronJobs();

// Re-arms any actor whose step was lost (a failed or dropped transaction).
crons.interval(
  "watchdog",
  { seconds: WATCHDOG_INTERVAL_SECONDS },
  internal.repair.watchdog,
  {},
);

export default crons;
