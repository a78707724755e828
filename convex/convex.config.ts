import { defineApp } from "convex/server";
import workpool from "@convex-dev/workpool/convex.config.js";

const app = defineApp();
// Re-runs of lost actor steps, with retries and backoff (see repair.ts).
app.use(workpool, { name: "repairPool" });
export default app;
