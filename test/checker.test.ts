/**
 * The checkers that the long tests rely on must themselves catch a broken
 * North Pole; otherwise a green run would prove nothing.
 */
import { afterEach, beforeEach, expect, test, vi } from "vitest";
import { internal } from "../convex/_generated/api";
import { Driver, newBackend, seedRandom, type Backend } from "./setup";
import { Checker } from "./invariants";
import { checkTimers } from "./timers";

let t: Backend;
beforeEach(async () => {
  vi.useFakeTimers();
  seedRandom(5);
  vi.spyOn(console, "log").mockImplementation(() => {});
  t = newBackend().t;
  await t.mutation(internal.sim.start, {});
});
afterEach(() => {
  vi.useRealTimers();
  vi.restoreAllMocks();
});

async function workers() {
  return await t.run((ctx) => ctx.db.query("workers").collect());
}

test("an elf working while Santa delivers is a mixed group", async () => {
  const checker = new Checker();
  const elf = (await workers()).find((w) => w.workerType === "elves")!;
  await t.run((ctx) => ctx.db.patch("workers", elf._id, { state: "working" }));
  await checker.check(t);
  expect(checker.violations.join("\n")).toMatch(/mixed group/);
  expect(checker.violations.join("\n")).toMatch(/counter elves.working is 0, table has 1/);
});

test("a worker jumping from ready to vacationing skipped a state", async () => {
  const checker = new Checker();
  await checker.check(t);
  const elf = (await workers()).find((w) => w.workerType === "elves" && w.state === "ready")!;
  await t.run((ctx) => ctx.db.patch("workers", elf._id, { state: "vacationing" }));
  await checker.check(t);
  expect(checker.violations.join("\n")).toMatch(/skipped a state: ready -> vacationing/);
});

test("Santa asleep next to a ready group breaks liveness", async () => {
  const checker = new Checker();
  await t.run(async (ctx) => {
    const np = (await ctx.db.query("northPole").unique())!;
    await ctx.db.patch("northPole", np._id, {
      santa: { ...np.santa, activity: "sleeping", group: [] },
    });
    for (const w of await ctx.db.query("workers").collect()) {
      await ctx.db.patch("workers", w._id, { state: "ready" });
    }
  });
  await checker.check(t);
  expect(checker.violations.join("\n")).toMatch(/Santa sleeps while a group is ready/);
});

test("a second live timer for one worker is a duplicate actor", async () => {
  const driver = new Driver(t, { watchdog: false });
  await driver.runFor(2_000);
  const w = (await workers()).find((w) => w.state === "vacationing" && w.armed)!;
  expect(await checkTimers(t)).toEqual([]);
  await t.run(async (ctx) => {
    const np = (await ctx.db.query("northPole").unique())!;
    await ctx.scheduler.runAfter(60_000, internal.workers.comeBack, {
      generation: np.generation,
      workerId: w._id,
      step: w.step,
    });
  });
  expect((await checkTimers(t)).join("\n")).toMatch(/armed with 2 live timers/);
  driver.dispose();
});

test("an actor far past its due time is stuck", async () => {
  const checker = new Checker({ stuckAfterMs: 1_000 });
  await t.run(async (ctx) => {
    const np = (await ctx.db.query("northPole").unique())!;
    await ctx.db.patch("northPole", np._id, {
      santa: { ...np.santa, dueAt: Date.now() - 5_000 },
      runningSince: Date.now() - 10_000,
    });
  });
  await checker.check(t);
  expect(checker.violations.join("\n")).toMatch(/past its due time/);
});
