/**
 * Bounded storage: a long run keeps a constant number of rows. Counters live
 * in the North Pole document, workers are updated in place, the event log is
 * a ring, and the workers of an old generation are purged.
 */
import { afterEach, beforeEach, expect, test, vi } from "vitest";
import { internal } from "../convex/_generated/api";
import { Driver, newBackend, readNorthPole, seedRandom, type Backend } from "./setup";

beforeEach(() => {
  vi.useFakeTimers();
  vi.spyOn(console, "log").mockImplementation(() => {});
  vi.spyOn(console, "error").mockImplementation(() => {});
});
afterEach(() => {
  vi.useRealTimers();
  vi.restoreAllMocks();
});

async function rows(t: Backend) {
  return await t.run(async (ctx) => ({
    northPole: (await ctx.db.query("northPole").collect()).length,
    workers: (await ctx.db.query("workers").collect()).length,
    events: (await ctx.db.query("events").collect()).length,
  }));
}

const HOUR = 3_600_000;
const DAY = 24 * HOUR;

test("a virtual month at slow speeds: every table stays the same size", async () => {
  seedRandom(31);
  const { t } = newBackend();
  await t.mutation(internal.sim.start, {});
  // Work and vacations of up to an hour: about a round an hour.
  await t.mutation(internal.sim.setSpeeds, { maxWorkMs: HOUR, maxVacationMs: HOUR });
  await t.mutation(internal.sim.setLogRetention, { events: 200 });
  // The cron runs hourly here: a month of 5-second passes would take the
  // test too long, and without chaos it never has anything to repair.
  const driver = new Driver(t, { watchdog: false });
  const samples: Awaited<ReturnType<typeof rows>>[] = [];
  for (let day = 0; day < 30; day++) {
    for (let hour = 0; hour < 24; hour++) {
      await driver.runFor(HOUR);
      const { repaired } = await t.mutation(internal.repair.watchdog, {});
      expect(repaired).toBe(0);
    }
    samples.push(await rows(t));
  }
  driver.dispose();
  const np = await readNorthPole(t);
  // It really ran for a month: hundreds of rounds, thousands of events.
  expect(np.rounds.reindeer + np.rounds.elves).toBeGreaterThan(300);
  expect(np.nextEventSeq).toBeGreaterThan(1000);
  expect(Date.now() - np.runningSince).toBeGreaterThanOrEqual(30 * DAY);
  // ...and its tables did not grow: the log fills up to its retention in
  // the first days, then every table stays flat.
  for (const s of samples) {
    expect(s.northPole).toBe(1);
    expect(s.workers).toBe(19);
    expect(s.events).toBeLessThanOrEqual(200);
  }
  expect(samples.slice(5)).toEqual(
    Array(25).fill({ northPole: 1, workers: 19, events: 200 }),
  );
});

test("reseeding purges the old workers; shrinking the log trims it", async () => {
  seedRandom(32);
  const { t } = newBackend();
  await t.mutation(internal.sim.start, {});
  const driver = new Driver(t, { watchdog: false });
  await driver.runFor(60_000);
  for (let i = 0; i < 5; i++) {
    await t.mutation(internal.sim.seed, { reindeer: 5 + i, elves: 10 + i });
    await t.mutation(internal.sim.start, {});
    await driver.runFor(30_000);
  }
  expect((await rows(t)).workers).toBe(9 + 14);
  expect((await rows(t)).events).toBe(500);
  await t.mutation(internal.sim.setLogRetention, { events: 20 });
  // Each new event deletes up to eight of the oldest.
  await driver.runFor(30_000);
  expect((await rows(t)).events).toBe(20);
  driver.dispose();
});
