/**
 * Chaos mode: a share of actor steps really fail (their transaction rolls
 * back). The watchdog and the workpool repair them; nothing is lost.
 */
import { expect, test, vi } from "vitest";
import { api, internal } from "../convex/_generated/api";
import { GRACE_MS, REPAIR_RETRY, WATCHDOG_INTERVAL_SECONDS } from "../convex/repair";
import { Driver, newBackend, readNorthPole, seedRandom, useQuietVirtualTime } from "./setup";
import { Checker } from "./invariants";

useQuietVirtualTime();

/**
 * How late a repaired step may be: found by the next watchdog pass after its
 * grace, then retried with backoff (250 + 500 + 1000 + 2000 ms); twice that,
 * for the rare step whose re-run fails every retry and is re-armed again.
 */
const backoff = Array.from(
  { length: REPAIR_RETRY.maxAttempts - 1 },
  (_, i) => REPAIR_RETRY.initialBackoffMs * REPAIR_RETRY.base ** i,
).reduce((a, b) => a + b, 0);
const REPAIR_BOUND_MS = 2 * (GRACE_MS + WATCHDOG_INTERVAL_SECONDS * 1000 + backoff);

test.each([
  [21, { reindeer: 9, elves: 10, elfGroupSize: 3 }],
  [22, { reindeer: 4, elves: 7, elfGroupSize: 2 }],
])("seed %i: chaos 0.25 for ten virtual minutes, rules after every step", async (seed, population) => {
  seedRandom(seed);
  const { t } = newBackend();
  await t.mutation(internal.sim.seed, population);
  await t.mutation(internal.sim.setChaos, { failureRate: 0.25 });
  await t.mutation(internal.sim.start, {});
  const driver = new Driver(t);
  const checker = new Checker({ stuckAfterMs: REPAIR_BOUND_MS });
  await driver.runFor(600_000, async () => {
    await checker.check(t);
  });
  driver.dispose();
  expect(checker.violations).toEqual([]);
  const s = await t.query(api.sim.status, {});
  if (!s.exists) throw new Error("no North Pole");
  // Steps did fail, and were repaired.
  expect(s.chaos.failures).toBeGreaterThan(50);
  expect(s.chaos.repairs).toBeGreaterThan(50);
  // Every worker kept cycling.
  const snap = await checker.check(t);
  for (const w of snap.workers) {
    expect(checker.transitions.get(w._id) ?? 0).toBeGreaterThanOrEqual(6);
  }
  expect(s.rounds.reindeer + s.rounds.elves).toBeGreaterThan(100);
  expect(checker.worstLatenessMs).toBeLessThanOrEqual(REPAIR_BOUND_MS);
});

test("lost steps due at one instant: one pass and its continuations queue each once", async () => {
  // 300 reindeer with vacations of 1 ms: a release gives them all one due
  // time. Every step fails once, so all 300 and Santa are lost together.
  seedRandom(5);
  const { t } = newBackend();
  const northPole = () => readNorthPole(t);
  await t.mutation(internal.sim.seed, { reindeer: 300, elves: 3, elfGroupSize: 3 });
  await t.mutation(internal.sim.setSpeeds, { maxWorkMs: 10, maxVacationMs: 1 });
  await t.mutation(internal.sim.start, {});
  vi.advanceTimersByTime(10);
  await t.finishInProgressScheduledFunctions();
  expect((await northPole()).counts.reindeer.vacationing).toBe(300);
  await t.mutation(internal.sim.setChaos, { failureRate: 1 });
  vi.advanceTimersByTime(20);
  await t.finishInProgressScheduledFunctions();
  await t.mutation(internal.sim.setChaos, { failureRate: 0 });
  const lost = await northPole();
  expect(lost.counts.reindeer.vacationing).toBe(300);
  const dueTimes = await t.run(async (ctx) =>
    (await ctx.db.query("workers").collect())
      .filter((w) => w.state === "vacationing")
      .map((w) => w.dueAt),
  );
  expect(new Set(dueTimes).size).toBe(1);

  // One cron pass; its continuations run at once, one after another.
  vi.advanceTimersByTime(GRACE_MS + 1000);
  await t.mutation(internal.repair.watchdog, {});
  for (let i = 0; i < 5; i++) {
    vi.advanceTimersByTime(1);
    await t.finishInProgressScheduledFunctions();
  }
  const queued = await northPole();
  expect(queued.stats.repairs - lost.stats.repairs).toBe(301);
  // A second pass finds nothing new to queue while those re-runs wait.
  expect((await t.mutation(internal.repair.watchdog, {})).repaired).toBe(0);

  // The re-runs bring everyone back, and nothing is queued twice.
  const driver = new Driver(t);
  const back = await driver.runUntil(
    async () => (await northPole()).rounds.reindeer >= 2,
    30_000,
  );
  driver.dispose();
  expect(back).toBe(true);
  expect((await northPole()).stats.repairs - lost.stats.repairs).toBe(301);
});

test("a re-run that fails every retry is queued again by the next pass", async () => {
  seedRandom(9);
  const { t } = newBackend();
  const northPole = () => readNorthPole(t);
  await t.mutation(internal.sim.seed, { reindeer: 2, elves: 2, elfGroupSize: 2 });
  await t.mutation(internal.sim.start, {});
  // Every step fails, the re-runs' retries included.
  await t.mutation(internal.sim.setChaos, { failureRate: 1 });
  const driver = new Driver(t);
  await driver.runFor(60_000);
  const stuck = await northPole();
  // Santa's step was lost and re-queued pass after pass, never twice at once.
  expect(stuck.santa.activity).toBe("delivering");
  expect(stuck.stats.repairs).toBeGreaterThanOrEqual(3);
  expect(stuck.stats.repairs).toBeLessThanOrEqual(60_000 / (WATCHDOG_INTERVAL_SECONDS * 1000));
  // Failures seen: each queued re-run failed all its attempts.
  expect(stuck.stats.failures).toBeGreaterThanOrEqual(
    stuck.stats.repairs * (1 + REPAIR_RETRY.maxAttempts) - REPAIR_RETRY.maxAttempts - 1,
  );
  // Chaos off: the next pass re-queues him and the North Pole goes on.
  await t.mutation(internal.sim.setChaos, { failureRate: 0 });
  const moved = await driver.runUntil(
    async () => (await northPole()).rounds.reindeer >= 1,
    20_000,
  );
  driver.dispose();
  expect(moved).toBe(true);
});

test("a vacationing row with no repairAt is put in its place, not brought back early", async () => {
  // Rows written before repairAt existed (a code push onto a running North
  // Pole): the watchdog's index range takes them, and must not end their
  // vacations before they are due.
  seedRandom(3);
  const { t } = newBackend();
  const northPole = () => readNorthPole(t);
  await t.mutation(internal.sim.seed, { reindeer: 2, elves: 2, elfGroupSize: 2 });
  await t.mutation(internal.sim.setSpeeds, { maxWorkMs: 10, maxVacationMs: 3_600_000 });
  await t.mutation(internal.sim.start, {});
  const driver = new Driver(t);
  await driver.runUntil(async () => (await northPole()).rounds.reindeer >= 1, 60_000);
  const vacationing = await t.run(async (ctx) => {
    const ws = (await ctx.db.query("workers").collect()).filter((w) => w.state === "vacationing");
    for (const w of ws) await ctx.db.patch("workers", w._id, { repairAt: undefined });
    return ws;
  });
  const firstDue = Math.min(...vacationing.map((w) => w.dueAt!));
  expect(firstDue).toBeGreaterThan(Date.now() + 30_000);
  const before = await northPole();
  await driver.runFor(20_000);
  driver.dispose();
  const after = await northPole();
  expect(Date.now()).toBeLessThan(firstDue);
  // No reindeer came back, so no second delivery; nothing was re-run.
  expect(after.rounds.reindeer).toBe(before.rounds.reindeer);
  expect(after.stats.repairs).toBe(before.stats.repairs);
  const rows = await t.run(async (ctx) =>
    Promise.all(vacationing.map(async (w) => (await ctx.db.get("workers", w._id))!)),
  );
  for (const w of rows) {
    expect(w.state).toBe("vacationing");
    expect(w.repairAt).toBe(w.dueAt);
  }
});

test("chaos off again: the repairs stop", async () => {
  seedRandom(23);
  const { t } = newBackend();
  await expect(t.mutation(internal.sim.setChaos, { failureRate: 0.5 })).rejects.toThrow(
    /no North Pole yet/,
  );
  await t.mutation(internal.sim.start, {});
  await t.mutation(internal.sim.setChaos, { failureRate: 0.5 });
  const driver = new Driver(t);
  await driver.runFor(60_000);
  await t.mutation(internal.sim.setChaos, { failureRate: 0 });
  await driver.runFor(30_000); // the last repairs land
  const before = await t.query(api.sim.status, {});
  await driver.runFor(120_000);
  const after = await t.query(api.sim.status, {});
  driver.dispose();
  if (!before.exists || !after.exists) throw new Error("no North Pole");
  expect(before.chaos.failures).toBeGreaterThan(0);
  expect(after.chaos.failures).toBe(before.chaos.failures);
  expect(after.chaos.repairs).toBe(before.chaos.repairs);
  expect(after.rounds.elves).toBeGreaterThan(before.rounds.elves);
});

test("setChaos needs a rate from 0 to 1", async () => {
  const { t } = newBackend();
  await t.mutation(internal.sim.seed, {});
  await expect(t.mutation(internal.sim.setChaos, {})).rejects.toThrow(/failureRate is required/);
  await expect(t.mutation(internal.sim.setChaos, { failureRate: 1.01 })).rejects.toThrow(
    /failureRate must be a number from 0 to 1, got 1.01/,
  );
});
