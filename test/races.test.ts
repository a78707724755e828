/**
 * Races between the operator's commands and the background work they land
 * on: a re-run still waiting in the workpool when the North Pole stops, a
 * release too big for one transaction stopped before its follow-up arms the
 * rest, a reseed while the previous seeding or purge still continues, and a
 * queued re-run that the workpool reports as canceled. Each test pins its
 * moment by stepping virtual time one timer at a time.
 */
import { afterEach, describe, expect, test } from "vitest";
import { Workpool, type WorkId } from "@convex-dev/workpool";
import { api, components, internal } from "../convex/_generated/api";
import type { Id } from "../convex/_generated/dataModel";
import { ARM_BATCH, SEED_BATCH } from "../convex/model";
import {
  GRACE_MS,
  REPAIR_RETRY,
  WATCHDOG_INTERVAL_SECONDS,
} from "../convex/repair";
import {
  Driver,
  newBackend,
  readNorthPole,
  seedRandom,
  type Backend,
  type ExecutionCounter,
  useQuietVirtualTime,
} from "./setup";
import { Checker } from "./invariants";
import { checkTimers } from "./timers";

/** As in chaos.test.ts: how late a repaired step may be. */
const backoff = Array.from(
  { length: REPAIR_RETRY.maxAttempts - 1 },
  (_, i) => REPAIR_RETRY.initialBackoffMs * REPAIR_RETRY.base ** i,
).reduce((a, b) => a + b, 0);
const REPAIR_BOUND_MS = 2 * (GRACE_MS + WATCHDOG_INTERVAL_SECONDS * 1000 + backoff);

let t: Backend;
let counter: ExecutionCounter;
let driver: Driver | null = null;
let checker: Checker;

useQuietVirtualTime();
afterEach(() => {
  driver?.dispose();
  driver = null;
});

/** A fresh backend, driver and checker, with seeded randomness. */
function setup(seed: number) {
  seedRandom(seed);
  ({ t, counter } = newBackend());
  driver = new Driver(t);
  checker = new Checker({ stuckAfterMs: REPAIR_BOUND_MS });
  return driver;
}

const northPole = () => readNorthPole(t);

async function worker(id: Id<"workers">) {
  return (await t.run((ctx) => ctx.db.get("workers", id)))!;
}

/** The rules after a step. */
async function step() {
  await checker.check(t, "step");
}

/** The rules, and one live timer per actor on `_scheduled_functions`. */
async function checkAll(label: string) {
  await checker.check(t, label);
  for (const p of await checkTimers(t)) checker.violations.push(`${label}: ${p}`);
}

/** Runs virtual time: the rules after every step, the timers at the end. */
async function run(d: Driver, ms: number) {
  await d.runFor(ms, step);
  await checkAll("after run");
}

/** The app's pending scheduled functions whose name matches. */
async function pending(name: RegExp) {
  return await t.run(async (ctx) =>
    (await ctx.db.system.query("_scheduled_functions").collect()).filter(
      (f) => f.state.kind === "pending" && name.test(f.name),
    ),
  );
}

/**
 * Loses a reindeer's vacation timer, as a step that failed would leave it:
 * its pending `comeBack` is cancelled. Returns the reindeer.
 */
async function loseReindeerStep(): Promise<Id<"workers">> {
  return await t.run(async (ctx) => {
    for (const job of await ctx.db.system.query("_scheduled_functions").collect()) {
      if (job.state.kind !== "pending" || !/comeBack/.test(job.name)) continue;
      const { workerId, step } = job.args[0] as { workerId: Id<"workers">; step: number };
      const w = await ctx.db.get("workers", workerId);
      if (w?.workerType === "reindeer" && w.state === "vacationing" && w.step === step) {
        await ctx.scheduler.cancel(job._id);
        return workerId;
      }
    }
    throw new Error("no reindeer timer to lose");
  });
}

/** Loses Santa's work timer: his pending `finishWork` is cancelled. */
async function loseSantaStep() {
  const cancelled = await t.run(async (ctx) => {
    const np = (await ctx.db.query("northPole").unique())!;
    let n = 0;
    for (const job of await ctx.db.system.query("_scheduled_functions").collect()) {
      const args = job.args[0] as { step?: number };
      if (job.state.kind === "pending" && /finishWork/.test(job.name) && args.step === np.santa.step) {
        await ctx.scheduler.cancel(job._id);
        n++;
      }
    }
    return n;
  });
  expect(cancelled).toBe(1);
}

const WHEN = ["at once", "once the re-run has parked it"] as const;

/** What each re-run the workpool ran returned ("done", "parked", "stale"). */
function rerunResults(): string[] {
  const kinds: string[] = [];
  counter.listen((e) => {
    if (e.name === "repair:rerun") kinds.push(e.failed ? "failed" : (e.result as { kind: string }).kind);
  });
  return kinds;
}

describe("stop while a re-run waits in the workpool, then start", () => {
  // The watchdog queued a re-run of a lost step (the actor is armed, its
  // re-run is its only live step), and a stop lands before the pool runs it.
  // Started at once, the re-run must still act; started after the re-run
  // parked the actor, the start must re-arm it. Either way: one live step,
  // never two and never none, and no second repair.
  test.each(WHEN)("a reindeer's lost comeBack, start %s", async (when) => {
    const d = setup(41);
    const reruns = rerunResults();
    await t.mutation(internal.sim.seed, { reindeer: 2, elves: 4, elfGroupSize: 2 });
    await t.mutation(internal.sim.start, {});
    expect(await d.runUntil(async () => (await northPole()).rounds.reindeer >= 1, 10_000, step)).toBe(true);
    const lost = await loseReindeerStep();
    const lostStep = (await worker(lost)).step;

    // Right after the watchdog pass that queued the re-run, before the pool runs it.
    expect(await d.runUntil(async () => (await worker(lost)).rerun !== undefined, 30_000, step)).toBe(true);
    const queued = await worker(lost);
    expect(queued).toMatchObject({ state: "vacationing", armed: true, step: lostStep });
    expect((await northPole()).stats.repairs).toBe(1);
    const roundsBefore = (await northPole()).rounds.reindeer;
    expect(reruns).toEqual([]); // still waiting in the pool
    await t.mutation(internal.sim.stop, {});
    checker.forget();
    await checker.check(t, "stopped");

    if (when === "once the re-run has parked it") {
      expect(await d.runUntil(async () => !(await worker(lost)).armed, 30_000, step)).toBe(true);
      expect((await worker(lost)).state).toBe("vacationing");
    }
    await t.mutation(internal.sim.start, {});
    checker.forget();
    await checker.check(t, "started");
    const movesBefore = checker.transitions.get(lost) ?? 0;
    await run(d, 60_000);

    expect(checker.violations).toEqual([]);
    // The lost reindeer is back and goes on cycling.
    expect((checker.transitions.get(lost) ?? 0) - movesBefore).toBeGreaterThanOrEqual(6);
    const after = await northPole();
    expect(after.rounds.reindeer - roundsBefore).toBeGreaterThanOrEqual(2);
    // One lost step, one re-run: neither the stop nor the start made another,
    // and the pool's report found its actor.
    expect(after.stats.repairs).toBe(1);
    expect(reruns).toEqual([when === "at once" ? "done" : "parked"]);
    expect((await worker(lost)).rerun).toBeUndefined();
  });

  test.each(WHEN)("Santa's lost finishWork, start %s", async (when) => {
    const d = setup(42);
    const reruns = rerunResults();
    await t.mutation(internal.sim.seed, { reindeer: 2, elves: 4, elfGroupSize: 2 });
    await t.mutation(internal.sim.start, {});
    expect((await northPole()).santa.activity).toBe("delivering");
    await loseSantaStep();

    expect(await d.runUntil(async () => (await northPole()).santa.rerun !== undefined, 30_000, step)).toBe(true);
    const queued = await northPole();
    expect(queued.santa).toMatchObject({ activity: "delivering", armed: true });
    expect(queued.stats.repairs).toBe(1);
    expect(queued.rounds).toEqual({ reindeer: 0, elves: 0 });
    expect(reruns).toEqual([]); // still waiting in the pool
    await t.mutation(internal.sim.stop, {});
    checker.forget();
    await checker.check(t, "stopped");

    if (when === "once the re-run has parked it") {
      expect(await d.runUntil(async () => !(await northPole()).santa.armed, 30_000, step)).toBe(true);
      expect((await northPole()).santa.activity).toBe("delivering");
    }
    await t.mutation(internal.sim.start, {});
    checker.forget();
    await checker.check(t, "started");
    await run(d, 60_000);

    expect(checker.violations).toEqual([]);
    const after = await northPole();
    // Santa finished the lost delivery and goes on working.
    expect(after.rounds.reindeer).toBeGreaterThanOrEqual(3);
    expect(after.rounds.elves).toBeGreaterThanOrEqual(3);
    expect(after.stats.repairs).toBe(1);
    expect(reruns).toEqual([when === "at once" ? "done" : "parked"]);
    expect(after.santa.rerun).toBeUndefined();
  });
});

describe("a release larger than ARM_BATCH, stopped before armPending", () => {
  // The release sets all 600 vacationing in one transaction but arms only
  // ARM_BATCH timers, leaving the rest to a run-after-zero armPending. A stop
  // in that same instant: armPending either finds the North Pole stopped
  // (and does nothing) or runs after the start. The start must leave every
  // vacationing reindeer with exactly one live timer, and all 600 come back.
  //
  // convex-test reads the 603 rows in about 25 ms, and the 600 returns are
  // 600 steps: past the instant of the race, the rules are checked every
  // SPARSE steps, each check on its own (no transitions between checks).
  const SPARSE = 20;
  function sparse() {
    let steps = 0;
    return async () => {
      if (++steps % SPARSE !== 0) return;
      checker.forget();
      await checker.check(t, "sparse");
    };
  }

  test.each(["at once", "after armPending found it stopped"] as const)(
    "600 reindeer, start %s",
    async (when) => {
      const R = 600;
      const d = setup(52);
      await t.mutation(internal.sim.seed, { reindeer: R, elves: 3, elfGroupSize: 3 });
      await t.mutation(internal.sim.setSpeeds, { maxWorkMs: 10, maxVacationMs: 2000 });
      await t.mutation(internal.sim.start, {});
      expect((await northPole()).counts.reindeer.working).toBe(R);
      await checker.check(t, "dispatched");

      // Step by step until the release; stop in the same instant.
      expect(await d.runUntil(async () => (await northPole()).rounds.reindeer >= 1, 1000, step)).toBe(true);
      const reindeer = async () =>
        (await t.run((ctx) => ctx.db.query("workers").collect())).filter(
          (w) => w.workerType === "reindeer",
        );
      const released = await reindeer();
      expect(released.every((w) => w.state === "vacationing")).toBe(true);
      expect(released.filter((w) => !w.armed)).toHaveLength(R - ARM_BATCH);
      expect(await pending(/armPending/)).toHaveLength(1);
      await t.mutation(internal.sim.stop, {});
      checker.forget();
      await checker.check(t, "stopped");

      if (when === "after armPending found it stopped") {
        // armPending runs and does nothing; timers that come due park.
        await d.runFor(1000, sparse());
        expect(await pending(/armPending/)).toHaveLength(0);
        const parked = await reindeer();
        expect(parked.filter((w) => !w.armed).length).toBeGreaterThan(R - ARM_BATCH);
        expect(parked.every((w) => w.state === "vacationing")).toBe(true);
      }
      await t.mutation(internal.sim.start, {});
      checker.forget();
      await checkAll("started");
      if (when === "at once") {
        // The start armed the rest itself; the old armPending finds none.
        expect((await reindeer()).every((w) => w.state !== "vacationing" || w.armed)).toBe(true);
      }
      // Whatever armPending is left runs in this instant.
      expect(await d.runUntil(async () => (await pending(/armPending/)).length === 0, 1000, sparse())).toBe(true);
      checker.forget();
      await checkAll("armed");
      const armed = await reindeer();
      expect(armed.filter((w) => w.state === "vacationing" && !w.armed)).toEqual([]);
      expect(checker.violations).toEqual([]);

      // Every one of the 600 comes back: a second delivery.
      expect(await d.runUntil(async () => (await northPole()).rounds.reindeer >= 2, 30_000, sparse())).toBe(true);
      checker.forget();
      await checkAll("second round");
      expect(checker.violations).toEqual([]);
      // Nothing was lost on the way: the watchdog had nothing to repair.
      expect((await northPole()).stats.repairs).toBe(0);
    },
  );
});

describe("reseed while the previous North Pole still seeds or purges", () => {
  /** The workers table as it is, every generation, and the counters. */
  async function expectOnly(population: { reindeer: number; elves: number }) {
    const { np, rows } = await t.run(async (ctx) => ({
      np: (await ctx.db.query("northPole").unique())!,
      rows: await ctx.db.query("workers").collect(),
    }));
    const total = population.reindeer + population.elves;
    expect(rows).toHaveLength(total);
    expect(rows.filter((w) => w.generation !== np.generation)).toEqual([]);
    expect(rows.filter((w) => w.workerType === "reindeer")).toHaveLength(population.reindeer);
    let counted = 0;
    for (const type of ["reindeer", "elves"] as const) {
      for (const state of ["ready", "working", "vacationing"] as const) {
        const n = np.counts[type][state];
        expect(n, `${type}.${state}`).toBe(
          rows.filter((w) => w.workerType === type && w.state === state).length,
        );
        counted += n;
      }
    }
    expect(counted).toBe(total);
    return np;
  }

  // The first seed inserts SEED_BATCH workers and leaves a continueSeeding;
  // the reseed must fence it off (it would insert rows of the old
  // generation) and purge what the old one inserted.
  test("a big seeding still continuing, reseeded smaller, then started", async () => {
    const d = setup(63);
    await t.mutation(internal.sim.seed, { reindeer: 9, elves: 10_000 });
    expect((await northPole()).seeded).toBe(SEED_BATCH);
    expect(await pending(/continueSeeding/)).toHaveLength(1);
    await t.mutation(internal.sim.seed, { reindeer: 4, elves: 7, elfGroupSize: 2 });
    expect(await pending(/continueSeeding/)).toHaveLength(1);
    expect(await pending(/purge/)).toHaveLength(1);
    await t.mutation(internal.sim.start, {});
    checker.forget();
    await checkAll("started");
    await run(d, 60_000);

    expect(checker.violations).toEqual([]);
    const np = await expectOnly({ reindeer: 4, elves: 7 });
    expect(np.rounds.reindeer).toBeGreaterThanOrEqual(5);
    expect(np.rounds.elves).toBeGreaterThanOrEqual(5);
    const s = await t.query(api.sim.status, {});
    expect(s).toMatchObject({ seeding: null, population: { reindeer: 4, elves: 7, elfGroupSize: 2 } });
    expect(await pending(/continueSeeding|purge/)).toEqual([]);
  });

  // Two reseeds in a row, each while the previous reseed's purge chain is
  // still pending: back to back, or after the first purge link ran and
  // scheduled the next. Purges of different generations overlap; together
  // they must leave only the newest generation.
  test.each(["back to back", "after a first purge link"] as const)(
    "two reseeds in a row, %s",
    async (when) => {
      const d = setup(64);
      const purges: number[] = [];
      counter.listen((e) => {
        if (e.name === "sim:purge" && !e.failed) purges.push((e.result as { deleted: number }).deleted);
      });
      await t.mutation(internal.sim.seed, { reindeer: 9, elves: 10_000 });
      await t.mutation(internal.sim.seed, { reindeer: 1000, elves: 3000 });
      expect(await pending(/purge/)).toHaveLength(1);
      if (when === "after a first purge link") {
        expect(await d.runUntil(() => purges.length >= 1, 100)).toBe(true);
        expect(purges[0]).toBe(SEED_BATCH);
        // Its next link is pending.
        expect(await pending(/purge/)).toHaveLength(1);
      }
      await t.mutation(internal.sim.seed, { reindeer: 4, elves: 7, elfGroupSize: 2 });
      expect((await pending(/purge/)).length).toBeGreaterThanOrEqual(2);
      await t.mutation(internal.sim.start, {});
      checker.forget();
      await checkAll("started");
      await run(d, 60_000);

      expect(checker.violations).toEqual([]);
      const np = await expectOnly({ reindeer: 4, elves: 7 });
      expect(np.rounds.reindeer + np.rounds.elves).toBeGreaterThanOrEqual(10);
      expect(await pending(/continueSeeding|purge/)).toEqual([]);
    },
  );
});

describe("a queued re-run canceled in the workpool", () => {
  // The workpool reports a job canceled before it started to onComplete with
  // `{ kind: "canceled" }`. rerunDone must treat it as a failed re-run:
  // clear the actor's `rerun` and reopen its `repairAt`, so the next
  // watchdog pass queues it again. Otherwise the actor is lost for good (its
  // repairAt sits RERUN_WINDOW_MS ahead, and no step of it is live).
  test.each(["reindeer", "Santa"] as const)("%s: repaired by a later pass", async (who) => {
    const d = setup(71);
    const reports: string[] = [];
    counter.listen((e) => {
      if (e.name === "repair:rerunDone") reports.push((e.args as { result: { kind: string } }).result.kind);
    });
    await t.mutation(internal.sim.seed, { reindeer: 2, elves: 4, elfGroupSize: 2 });
    await t.mutation(internal.sim.start, {});
    let rerun: () => Promise<WorkId | undefined>;
    if (who === "reindeer") {
      expect(await d.runUntil(async () => (await northPole()).rounds.reindeer >= 1, 10_000, step)).toBe(true);
      const lost = await loseReindeerStep();
      rerun = async () => (await worker(lost)).rerun;
    } else {
      await loseSantaStep();
      rerun = async () => (await northPole()).santa.rerun;
    }
    const roundsBefore = (await northPole()).rounds.reindeer;

    // Right after the pass that queued it, cancel the re-run in the pool.
    expect(await d.runUntil(async () => (await rerun()) !== undefined, 30_000, step)).toBe(true);
    const workId = (await rerun())!;
    expect((await northPole()).stats.repairs).toBe(1);
    await t.run(async (ctx) => {
      await new Workpool(components.repairPool, {}).cancel(ctx, workId);
    });

    // The pool reports it canceled; the actor is still where it was lost.
    expect(await d.runUntil(() => reports.length >= 1, 2_000, step)).toBe(true);
    expect(reports).toEqual(["canceled"]);
    expect(await rerun()).toBeUndefined();
    expect((await northPole()).rounds.reindeer).toBe(roundsBefore);

    // The next pass queues it again, and that re-run brings it back.
    expect(
      await d.runUntil(
        async () => (await northPole()).rounds.reindeer > roundsBefore,
        2 * WATCHDOG_INTERVAL_SECONDS * 1000 + 10_000,
        step,
      ),
    ).toBe(true);
    expect((await northPole()).stats.repairs).toBe(2);
    expect(reports).toEqual(["canceled", "success"]);
    await run(d, 30_000);
    expect(checker.violations).toEqual([]);
    expect(await rerun()).toBeUndefined();
  });
});
