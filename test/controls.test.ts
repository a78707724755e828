/**
 * Controls at awkward moments, and random storms of them: the North Pole
 * stays one consistent North Pole, with one live step per actor.
 */
import { afterEach, beforeEach, describe, expect, test, vi } from "vitest";
import { api, internal } from "../convex/_generated/api";
import { Driver, mulberry32, newBackend, readNorthPole, seedRandom, type Backend } from "./setup";
import { Checker } from "./invariants";
import { checkTimers } from "./timers";

let t: Backend;
let driver: Driver;
let checker: Checker;

beforeEach(() => {
  vi.useFakeTimers();
  seedRandom(3);
  vi.spyOn(console, "log").mockImplementation(() => {});
  t = newBackend().t;
  driver = new Driver(t);
  checker = new Checker({ stuckAfterMs: 100 });
});
afterEach(() => {
  driver.dispose();
  vi.useRealTimers();
  vi.restoreAllMocks();
});

async function checkAll(label: string) {
  await checker.check(t, label);
  const problems = await checkTimers(t);
  for (const p of problems) checker.violations.push(`${label}: ${p}`);
}

/** Runs virtual time: the rules after every step, the timers at the end. */
async function run(ms: number) {
  await driver.runFor(ms, async () => {
    await checker.check(t, "step");
  });
  await checkAll("after run");
}

const np = () => readNorthPole(t);

describe("awkward moments", () => {
  test("stop while Santa works, start much later: the group finishes, then life goes on", async () => {
    await t.mutation(internal.sim.start, {});
    expect((await np()).santa.activity).toBe("delivering");
    await t.mutation(internal.sim.stop, {});
    await checkAll("stopped");
    await run(3_600_000); // an hour: every pending step comes due and parks
    const parked = await np();
    expect(parked.santa.activity).toBe("delivering");
    expect(parked.santa.armed).toBe(false);
    expect(parked.counts.reindeer.working).toBe(9);
    await t.mutation(internal.sim.start, {});
    checker.forget();
    await checkAll("started");
    await run(1); // Santa's overdue work ends now
    const after = await np();
    expect(after.rounds.reindeer).toBe(1);
    await run(60_000);
    expect(checker.violations).toEqual([]);
    expect((await np()).stats.repairs).toBe(0);
  });

  test("stop then start before anything comes due: the same timers go on, none added", async () => {
    await t.mutation(internal.sim.start, {});
    await run(2_000);
    const scheduled = async () =>
      t.run(async (ctx) => (await ctx.db.system.query("_scheduled_functions").collect()).length);
    const before = await scheduled();
    await t.mutation(internal.sim.stop, {});
    await t.mutation(internal.sim.start, {});
    expect(await scheduled()).toBe(before);
    await checkAll("restarted");
    await run(30_000);
    expect(checker.violations).toEqual([]);
  });

  test("stop, seed, start: a fresh North Pole, untouched by the old one's steps", async () => {
    await t.mutation(internal.sim.start, {});
    await run(4_000);
    await t.mutation(internal.sim.stop, {});
    await t.mutation(internal.sim.seed, { reindeer: 4, elves: 7, elfGroupSize: 2 });
    checker.forget();
    await checkAll("seeded");
    const fresh = await np();
    expect(fresh.counts.reindeer.ready).toBe(4);
    await t.mutation(internal.sim.start, {});
    await run(60_000);
    expect(checker.violations).toEqual([]);
    const s = await t.query(api.sim.status, {});
    expect(s).toMatchObject({ population: { reindeer: 4, elves: 7, elfGroupSize: 2 } });
  });

  test("seed twice in a row while running, then start twice", async () => {
    await t.mutation(internal.sim.start, {});
    await run(1_000);
    await t.mutation(internal.sim.seed, {});
    await t.mutation(internal.sim.seed, { elves: 12 });
    checker.forget();
    await t.mutation(internal.sim.start, {});
    await t.mutation(internal.sim.start, {});
    await run(60_000);
    expect(checker.violations).toEqual([]);
    const all = await t.run((ctx) => ctx.db.query("workers").collect());
    expect(all).toHaveLength(21);
  });

  test("stop and start at every step for a while", async () => {
    await t.mutation(internal.sim.start, {});
    for (let i = 0; i < 200; i++) {
      await driver.next();
      await t.mutation(internal.sim.stop, {});
      await checkAll(`stop ${i}`);
      await driver.next();
      await t.mutation(internal.sim.start, {});
      checker.forget();
      await checkAll(`start ${i}`);
    }
    await run(30_000);
    expect(checker.violations).toEqual([]);
    expect((await np()).stats.repairs).toBe(0);
  });
});

describe("storms of controls", () => {
  test.each([11, 12, 13, 14])("seed %i: random controls at random moments", async (seed) => {
    const rnd = mulberry32(seed * 7919);
    const pick = <T,>(xs: T[]) => xs[Math.floor(rnd() * xs.length)]!;
    await t.mutation(internal.sim.start, {});
    let commands = 0;
    for (let i = 0; i < 40; i++) {
      await run(Math.floor(rnd() * 3_000));
      const command = pick(["start", "stop", "seed", "speeds", "start", "stop"]);
      commands++;
      if (command === "start") await t.mutation(internal.sim.start, {});
      if (command === "stop") await t.mutation(internal.sim.stop, {});
      if (command === "seed") {
        const group = 1 + Math.floor(rnd() * 4);
        await t.mutation(internal.sim.seed, {
          reindeer: 1 + Math.floor(rnd() * 9),
          elves: group + Math.floor(rnd() * 10),
          elfGroupSize: group,
        });
      }
      if (command === "speeds") {
        await t.mutation(internal.sim.setSpeeds, {
          maxWorkMs: 1 + Math.floor(rnd() * 2000),
          maxVacationMs: 1 + Math.floor(rnd() * 2000),
        });
      }
      checker.forget();
      await checkAll(`after ${command}`);
    }
    await t.mutation(internal.sim.start, {});
    checker.forget();
    await checkAll("final start");
    await run(30_000);
    expect(commands).toBe(40);
    expect(checker.violations).toEqual([]);
    // No step was ever lost: the watchdog had nothing to repair.
    expect((await np()).stats.repairs).toBe(0);
    // The North Pole still works.
    const before = await np();
    await run(30_000);
    const after = await np();
    expect(after.rounds.reindeer + after.rounds.elves).toBeGreaterThan(
      before.rounds.reindeer + before.rounds.elves,
    );
  });
});
