/**
 * Stress: the repair of a backlog of 4,000 lost steps, far longer to drain
 * than a re-run's retries. About a minute on two cores (convex-test's
 * indexes are in-memory scans), so it runs in `npm run test:stress` and in
 * CI, not in `npm test`.
 */
import { expect, test, vi } from "vitest";
import { internal } from "../../convex/_generated/api";
import { GRACE_MS } from "../../convex/repair";
import { Driver, newBackend, readNorthPole, seedRandom, useQuietVirtualTime } from "../setup";

useQuietVirtualTime();

test("a backlog that drains for longer than a re-run's retries: still one re-run per lost step", async () => {
  // 1,000 reindeer and three meetings of 1,000 elves: 4,000 on vacation at
  // once, every timer lost. At REPAIR_PARALLELISM re-runs at a time the
  // backlog takes far longer than a re-run's retries, over many passes.
  seedRandom(77);
  const { t, counter } = newBackend();
  const northPole = () => readNorthPole(t);
  await t.mutation(internal.sim.seed, { reindeer: 1000, elves: 3000, elfGroupSize: 1000 });
  await t.mutation(internal.sim.setSpeeds, { maxWorkMs: 5, maxVacationMs: 60_000 });
  await t.mutation(internal.sim.start, {});
  const driver = new Driver(t, { watchdog: false });
  await driver.runUntil(async () => (await northPole()).rounds.elves >= 3, 1000);
  driver.dispose();
  const lost = await t.run(async (ctx) => {
    let n = 0;
    for (const job of await ctx.db.system.query("_scheduled_functions").collect()) {
      if (job.state.kind === "pending" && /comeBack|armPending/.test(job.name)) {
        await ctx.scheduler.cancel(job._id);
        if (/comeBack/.test(job.name)) n++;
      }
    }
    return n;
  });
  const before = await northPole();
  expect(before.counts.reindeer.vacationing + before.counts.elves.vacationing).toBe(4000);
  const lostAt = Date.now();
  // Those back go on long vacations: the run is about the backlog alone.
  await t.mutation(internal.sim.setSpeeds, { maxVacationMs: 3_600_000 });
  vi.advanceTimersByTime(60_000 + GRACE_MS + 1);
  const started = Date.now();
  const withCron = new Driver(t);
  // Drained: the workpool reported on 4,000 re-runs.
  let reports = 0;
  const stop = counter.listen((e) => {
    if (e.name === "repair:rerunDone") reports++;
  });
  const back = await withCron.runUntil(() => reports >= 4000, 120_000);
  stop();
  withCron.dispose();
  expect(back).toBe(true);
  // Every worker has left the vacation it was lost in.
  const moved = await t.run(async (ctx) =>
    (await ctx.db.query("workers").collect()).every((w) => w.since > lostAt),
  );
  expect(moved).toBe(true);
  const drained = Date.now() - started;
  expect(drained).toBeGreaterThan(30_000);
  // 4,000 lost (those armPending had yet to arm, its job cancelled too, as
  // parked workers), 4,000 queued.
  const after = await northPole();
  expect(lost).toBeGreaterThanOrEqual(2000);
  expect(after.stats.repairs - before.stats.repairs).toBe(4000);
}, 300_000);
