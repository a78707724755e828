/**
 * Scale: 1,000 reindeer and 10,000 elves inside Convex's default
 * per-transaction limits (convex-test's `transactionLimits: true` makes any
 * transaction that reads, writes or schedules too much throw). Seeding,
 * dispatch, release, repair and `sim:status`, each at that size.
 *
 * convex-test's indexes are in-memory scans, so every step here costs time in
 * proportion to the 11,000 workers: the test walks through the phases once,
 * with the checker at the points between them rather than after every step.
 */
import { expect, test, vi } from "vitest";
import { api, internal } from "../convex/_generated/api";
import { ARM_BATCH } from "../convex/model";
import {
  GRACE_MS,
  REPAIR_BATCH,
  WATCHDOG_INTERVAL_SECONDS,
} from "../convex/repair";
import {
  Driver,
  newBackend,
  seedRandom,
  type Backend,
  type Execution,
  type TransactionUsage,
  useQuietVirtualTime,
} from "./setup";
import { Checker } from "./invariants";

useQuietVirtualTime();

const R = 1000;
const E = 10_000;

/** Convex's defaults, as convex-test enforces them. */
const LIMITS = { documentsRead: 32_000, documentsWritten: 16_000, functionsScheduled: 1000 };

type Usage = { name: string; usage: TransactionUsage };

async function status(t: Backend) {
  const s = await t.query(api.sim.status, {});
  if (!s.exists) throw new Error("no North Pole");
  return s;
}

/** The pending scheduled functions whose name matches. */
async function pending(t: Backend, name: RegExp) {
  return await t.run(async (ctx) =>
    (await ctx.db.system.query("_scheduled_functions").collect()).filter(
      (f) => f.state.kind === "pending" && name.test(f.name),
    ),
  );
}

test("1,000 reindeer and 10,000 elves: seed, dispatch, release, repair and status within the limits", async () => {
  seedRandom(1000);
  const { t, counter } = newBackend({ transactionLimits: true });
  const usages: Usage[] = [];
  const failures: string[] = [];
  counter.listen((e: Execution) => {
    if (e.transaction) usages.push({ name: e.name, usage: e.transaction });
    if (e.failed) failures.push(`${e.name}: ${e.error}`);
  });
  const checker = new Checker();
  /** The rules at a point between phases (not step by step: no transitions). */
  const check = async (label: string) => {
    checker.forget();
    await checker.check(t, label);
  };
  const driver = new Driver(t, { watchdog: false });
  const heaviest = (from: number) => {
    const max = { documentsRead: 0, documentsWritten: 0, functionsScheduled: 0 };
    for (const { usage } of usages.slice(from)) {
      for (const k of Object.keys(max) as (keyof typeof max)[]) {
        max[k] = Math.max(max[k], usage[k]);
      }
    }
    return max;
  };

  // Seeding: 11,000 workers in batches, each batch its own transaction.
  await t.mutation(internal.sim.seed, { reindeer: R, elves: E, elfGroupSize: 3 });
  const seeded = await driver.runUntil(async () => (await status(t)).seeding === null, 1000);
  expect(seeded).toBe(true);
  let s = await status(t);
  expect(s.reindeer).toEqual({ ready: R, working: 0, vacationing: 0 });
  expect(s.elves).toEqual({ ready: E, working: 0, vacationing: 0 });
  expect(usages.filter((u) => /^sim:(seed|continueSeeding)$/.test(u.name)).length).toBeGreaterThan(1);
  await check("seeded");

  // Dispatch: every reindeer is ready, so the start harnesses all 1,000 at
  // once, in its own transaction.
  let mark = usages.length;
  await t.mutation(internal.sim.start, {});
  s = await status(t);
  expect(s.santaActivity).toBe("delivering");
  expect(s.reindeer).toEqual({ ready: 0, working: R, vacationing: 0 });
  expect(s.group?.size).toBe(R);
  expect(heaviest(mark).documentsWritten).toBeGreaterThanOrEqual(R);
  await check("dispatched");

  // Release: the only timer is Santa's. One transaction sends all 1,000 on
  // vacation (atomically) but arms only ARM_BATCH timers; the rest are armed
  // by a follow-up, since a mutation may schedule 1,000 functions at most.
  mark = usages.length;
  await driver.next();
  const released = usages.slice(mark).find((u) => u.name === "santa:finishWork");
  expect(released?.usage.functionsScheduled).toBeLessThanOrEqual(ARM_BATCH + 2);
  s = await status(t);
  expect(s.rounds.reindeer).toBe(1);
  expect(s.reindeer).toEqual({ ready: 0, working: 0, vacationing: R });
  // The elves were waiting: Santa takes the first three in the same step.
  expect(s.santaActivity).toBe("meeting");
  await check("released");
  expect((await pending(t, /armPending/)).length).toBe(1);
  await driver.runUntil(async () => (await pending(t, /armPending/)).length === 0, 1000);
  // Every reindeer still on vacation has its timer (a few are back already).
  const vacationing = await t.run(async (ctx) =>
    (await ctx.db.query("workers").collect()).filter(
      (w) => w.workerType === "reindeer" && w.state === "vacationing",
    ),
  );
  expect(vacationing.length).toBeGreaterThan(R / 2);
  expect(vacationing.every((w) => w.armed)).toBe(true);
  expect((await pending(t, /comeBack/)).length).toBe(vacationing.length);

  // Repair: every reindeer's timer is lost (cancelled, as a failed step would
  // leave it). The watchdog finds them REPAIR_BATCH at a time and re-runs them
  // through the workpool; nothing is lost and no pass is too big.
  const lostSteps = await t.run(async (ctx) => {
    let cancelled = 0;
    const jobs = await ctx.db.system.query("_scheduled_functions").collect();
    for (const job of jobs) {
      if (job.state.kind === "pending" && /comeBack/.test(job.name)) {
        const { workerId } = job.args[0] as { workerId: string };
        const w = await ctx.db.get("workers", workerId as never);
        if (w?.workerType === "reindeer") {
          await ctx.scheduler.cancel(job._id);
          cancelled++;
        }
      }
    }
    return cancelled;
  });
  const repairsBefore = (await status(t)).chaos.repairs;
  // Every vacation is over and past the watchdog's grace.
  driver.dispose();
  vi.advanceTimersByTime(1500 + GRACE_MS + 1);
  const firstPass = await t.mutation(internal.repair.watchdog, {});
  expect(firstPass.repaired).toBe(REPAIR_BATCH);
  // From here the cron runs too, as in a deployment.
  const withCron = new Driver(t);
  const repairStart = Date.now();
  const repairedAll = await withCron.runUntil(
    async () => (await status(t)).rounds.reindeer >= 2,
    60_000,
  );
  withCron.dispose();
  expect(repairedAll).toBe(true);
  // A thousand lost steps are back within seconds: one pass queues them all
  // (it continues at once past each batch) and the workpool runs
  // REPAIR_PARALLELISM at a time. Measured: about 12.6 s, Santa's round
  // included; before re-runs were deduplicated, 22 s (and 55 s with ties).
  expect(Date.now() - repairStart).toBeLessThan(
    20_000 + WATCHDOG_INTERVAL_SECONDS * 1000,
  );
  s = await status(t);
  // Every lost step came back through exactly one re-run: a pass never
  // queues an actor whose re-run is still waiting in the workpool. (Santa's
  // timer may count too: it came due while no driver ran it.)
  const repairs = s.chaos.repairs - repairsBefore;
  expect(repairs).toBeGreaterThanOrEqual(lostSteps);
  expect(repairs).toBeLessThanOrEqual(lostSteps + 1);
  expect(s.rounds.reindeer).toBe(2);
  await check("repaired");

  // sim:status reads the North Pole document and nothing else.
  mark = usages.length;
  await status(t);
  expect(usages.slice(mark)).toEqual([
    { name: "sim:status", usage: expect.objectContaining({ documentsRead: 1 }) },
  ]);

  // Every transaction stayed inside the limits (a transaction past one would
  // have thrown), and none failed.
  expect(failures).toEqual([]);
  const max = heaviest(0);
  expect(max.documentsRead).toBeLessThan(LIMITS.documentsRead);
  expect(max.documentsWritten).toBeLessThan(LIMITS.documentsWritten);
  expect(max.functionsScheduled).toBeLessThanOrEqual(LIMITS.functionsScheduled);
  expect(checker.violations).toEqual([]);
});
