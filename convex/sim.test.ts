import { afterEach, beforeEach, describe, expect, test, vi } from "vitest";
import { ConvexError } from "convex/values";
import { api, internal } from "./_generated/api";
import { Driver, dumpState, newBackend, seedRandom, type Backend } from "../test/setup";
import { snapshot } from "../test/invariants";
import { dispatchLines } from "./rules";
import { MAX_LOG_LINES } from "./sim";

let t: Backend;
beforeEach(() => {
  vi.useFakeTimers();
  seedRandom(42);
  t = newBackend().t;
});
afterEach(() => {
  vi.useRealTimers();
  vi.restoreAllMocks();
});

async function status() {
  const s = await t.query(api.sim.status, {});
  if (!s.exists) throw new Error("no North Pole");
  return s;
}

describe("sim:seed", () => {
  test("defaults: 9 reindeer, 10 elves, groups of 3, all ready, not running", async () => {
    await t.mutation(internal.sim.seed, {});
    const s = await status();
    expect(s.population).toEqual({ reindeer: 9, elves: 10, elfGroupSize: 3 });
    expect(s.reindeer).toEqual({ ready: 9, working: 0, vacationing: 0 });
    expect(s.elves).toEqual({ ready: 10, working: 0, vacationing: 0 });
    expect(s.running).toBe(false);
    const snap = await snapshot(t);
    expect(snap.workers.map((w) => `${w.workerType}${w.number}`).sort()).toEqual(
      [
        ...Array.from({ length: 9 }, (_, i) => `reindeer${i + 1}`),
        ...Array.from({ length: 10 }, (_, i) => `elves${i + 1}`),
      ].sort(),
    );
  });

  test("every argument is optional", async () => {
    await t.mutation(internal.sim.seed, { elves: 7, elfGroupSize: 2 });
    expect((await status()).population).toEqual({ reindeer: 9, elves: 7, elfGroupSize: 2 });
  });

  test("stops whatever runs and replaces every worker", async () => {
    await t.mutation(internal.sim.start, {});
    const d = new Driver(t);
    await d.runFor(5_000);
    const before = await snapshot(t);
    await t.mutation(internal.sim.seed, { reindeer: 4, elves: 7, elfGroupSize: 2 });
    const s = await status();
    expect(s.running).toBe(false);
    expect(s.santaActivity).toBe("sleeping");
    expect(s.rounds).toEqual({ reindeer: 0, elves: 0 });
    expect(s.generation).toBe(before.np!.generation + 1);
    // The old generation's steps come due and find nothing to act on.
    await d.runFor(10_000);
    const after = await snapshot(t);
    expect(after.workers).toHaveLength(11);
    expect(after.workers.every((w) => w.state === "ready")).toBe(true);
    // The old workers are purged.
    const all = await t.run(async (ctx) => ctx.db.query("workers").collect());
    expect(all).toHaveLength(11);
    d.dispose();
  });

  test("every table wiped by hand while Santa works: his old timer cannot end the new round", async () => {
    await t.mutation(internal.sim.seed, {});
    await t.mutation(internal.sim.setSpeeds, { maxWorkMs: 60_000 });
    await t.mutation(internal.sim.start, {});
    const old = (await snapshot(t)).np!;
    expect(old.santa.activity).toBe("delivering");
    await t.run(async (ctx) => {
      for (const table of ["northPole", "workers", "events"] as const) {
        for (const row of await ctx.db.query(table).collect()) await ctx.db.delete(table, row._id);
      }
    });
    vi.advanceTimersByTime(1);
    // A fresh North Pole whose first round ends after the old timer is due.
    await t.mutation(internal.sim.seed, {});
    await t.mutation(internal.sim.setSpeeds, { maxWorkMs: 3_600_000 });
    await t.mutation(internal.sim.start, {});
    const fresh = (await snapshot(t)).np!;
    expect(fresh.generation).toBeGreaterThan(old.generation);
    expect(fresh.santa.dueAt!).toBeGreaterThan(old.santa.dueAt!);
    // Every step of the old North Pole comes due, and is turned away (the
    // driver stops at the first timer due at or past the end: the old one).
    const d = new Driver(t, { watchdog: false });
    await d.runFor(old.santa.dueAt! - Date.now());
    d.dispose();
    expect(Date.now()).toBe(old.santa.dueAt);
    const s = await status();
    expect(s.santaActivity).toBe("delivering");
    expect(s.rounds.reindeer).toBe(0);
  });

  test("the North Pole document deleted by hand: a new start never mixes in the old rows", async () => {
    await t.mutation(internal.sim.start, {});
    const d = new Driver(t);
    await d.runFor(3_000);
    const before = await snapshot(t);
    const lastSeq = await t.run(async (ctx) => {
      await ctx.db.delete("northPole", before.np!._id);
      return (await ctx.db.query("events").withIndex("by_seq").order("desc").first())!.seq;
    });
    await t.mutation(internal.sim.start, {});
    await d.runFor(3_000);
    d.dispose();
    const s = await status();
    expect(s.generation).toBeGreaterThan(before.np!.generation);
    const after = await snapshot(t);
    expect(after.workers).toHaveLength(19);
    // The old rows are purged and the log goes on past the old events.
    const all = await t.run(async (ctx) => ctx.db.query("workers").collect());
    expect(all).toHaveLength(19);
    expect(all.every((w) => w.generation === s.generation)).toBe(true);
    const first = await t.run(async (ctx) =>
      ctx.db
        .query("events")
        .withIndex("by_seq")
        .order("desc")
        .collect(),
    );
    const mine = first.filter((e) => e.generation === s.generation);
    expect(Math.min(...mine.map((e) => e.seq))).toBe(lastSeq + 1);
  });

  test.each([
    [{ reindeer: 0 }, /reindeer must be an integer from 1 to 1000, got 0/],
    [{ reindeer: -3 }, /got -3/],
    [{ reindeer: 2.5 }, /got 2.5/],
    [{ elves: 2, elfGroupSize: 3 }, /elves \(2\) must be at least elfGroupSize \(3\)/],
    [{ elfGroupSize: 0 }, /elfGroupSize must be an integer from 1 to 1000/],
    [{ elves: 10_001 }, /elves must be an integer from 1 to 10000/],
    [{ reindeer: 1001 }, /from 1 to 1000, got 1001/],
    [{ colour: "red" }, /unknown field "colour"/],
    [{ reindeer: "9" }, /got "9"/],
  ])("refuses %o with a ConvexError and changes nothing", async (args, message) => {
    await t.mutation(internal.sim.start, {});
    const before = await dumpState(t);
    const error = await t.mutation(internal.sim.seed, args).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConvexError);
    expect(String((error as ConvexError<string>).data)).toMatch(message);
    expect(String((error as ConvexError<string>).data)).toMatch(/Allowed: reindeer \(an integer from 1 to 1000\)/);
    expect(await dumpState(t)).toEqual(before);
  });
});

describe("sim:start and sim:stop", () => {
  test("start seeds the default North Pole where there is none and dispatches at once", async () => {
    const result = await t.mutation(internal.sim.start, {});
    expect(result.message).toBe("North Pole started.");
    const s = await status();
    expect(s.running).toBe(true);
    // Everyone is ready at the start: the reindeer go first.
    expect(s.santaActivity).toBe("delivering");
    expect(s.group?.size).toBe(9);
    expect(s.reindeer.working).toBe(9);
  });

  test("a second start while running changes nothing", async () => {
    await t.mutation(internal.sim.start, {});
    const before = await dumpState(t);
    const result = await t.mutation(internal.sim.start, {});
    expect(result.message).toMatch(/Already running; nothing changed/);
    expect(await dumpState(t)).toEqual(before);
  });

  test("stop: no actor acts until the next start, every worker keeps its state", async () => {
    await t.mutation(internal.sim.start, {});
    const d = new Driver(t);
    await d.runFor(3_000);
    await t.mutation(internal.sim.stop, {});
    const stopped = await snapshot(t);
    const states = (s: typeof stopped) =>
      s.workers.map((w) => `${w.workerType}${w.number}:${w.state}`).sort();
    // A long time passes: every pending timer comes due and parks.
    await d.runFor(60_000);
    const later = await snapshot(t);
    expect(states(later)).toEqual(states(stopped));
    expect(later.np!.santa.activity).toBe(stopped.np!.santa.activity);
    expect(later.np!.rounds).toEqual(stopped.np!.rounds);
    // Start: everything overdue moves at once, and the rounds go on.
    await t.mutation(internal.sim.start, {});
    await d.runFor(10_000);
    const resumed = await snapshot(t);
    const rounds = (s: typeof resumed) => s.np!.rounds.reindeer + s.np!.rounds.elves;
    expect(rounds(resumed)).toBeGreaterThan(rounds(stopped));
    d.dispose();
  });

  test("stop when not running changes nothing", async () => {
    await t.mutation(internal.sim.seed, {});
    const before = await dumpState(t);
    expect((await t.mutation(internal.sim.stop, {})).message).toMatch(/Not running/);
    expect(await dumpState(t)).toEqual(before);
  });

  test("start and stop take no arguments", async () => {
    for (const fn of [internal.sim.start, internal.sim.stop]) {
      const error = await t.mutation(fn, { now: true }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(ConvexError);
      expect(String((error as ConvexError<string>).data)).toMatch(/unknown field "now".*Allowed: no arguments/);
    }
    expect(await t.query(api.sim.status, {})).toMatchObject({ exists: false });
  });
});

describe("sim:setSpeeds", () => {
  test("retunes the delays from the next one drawn", async () => {
    await t.mutation(internal.sim.start, {});
    await t.mutation(internal.sim.setSpeeds, { maxWorkMs: 10, maxVacationMs: 20 });
    const d = new Driver(t);
    // The current work was drawn at up to 1500 ms; after it, every delay is short.
    await d.runFor(1_600);
    const s = await status();
    expect(s.speeds).toEqual({ maxWorkMs: 10, maxVacationMs: 20 });
    const snap = await snapshot(t);
    for (const w of snap.workers.filter((w) => w.state === "vacationing")) {
      expect(w.dueAt! - w.since).toBeLessThanOrEqual(20);
    }
    if (snap.np!.santa.dueAt !== undefined) {
      expect(snap.np!.santa.dueAt - snap.np!.santa.since).toBeLessThanOrEqual(10);
    }
    d.dispose();
  });

  test("one speed at a time", async () => {
    await t.mutation(internal.sim.seed, {});
    await t.mutation(internal.sim.setSpeeds, { maxVacationMs: 5000 });
    expect((await status()).speeds).toEqual({ maxWorkMs: 1500, maxVacationMs: 5000 });
  });

  test.each([
    [{ maxWorkMs: 0 }],
    [{ maxWorkMs: -1 }],
    [{ maxVacationMs: 1.5 }],
    [{ maxVacationMs: 3_600_001 }],
    [{ maxWorkMs: NaN }],
    [{ speed: 3 }],
  ])("refuses %o and changes nothing", async (args) => {
    await t.mutation(internal.sim.seed, {});
    const before = await dumpState(t);
    await expect(t.mutation(internal.sim.setSpeeds, args)).rejects.toThrow(/sim:setSpeeds refused/);
    expect(await dumpState(t)).toEqual(before);
  });

  test("needs a North Pole", async () => {
    await expect(t.mutation(internal.sim.setSpeeds, { maxWorkMs: 5 })).rejects.toThrow(/no North Pole yet/);
  });
});

describe("sim:status and sim:log", () => {
  test("status without a North Pole says what to run", async () => {
    expect(await t.query(api.sim.status, {})).toEqual({
      exists: false,
      hint: "No North Pole yet: run `npx convex run sim:start`.",
    });
  });

  test("log: newest event first, classic lines, limit", async () => {
    await t.mutation(internal.sim.start, {});
    const lines = await t.query(api.sim.log, { limit: 2 });
    // The newest event is the first dispatch, then "started".
    const text = lines.map((l) => l.slice(13));
    expect(text).toEqual([
      "----------",
      "Ho! Ho! Ho! let's deliver toys",
      ...text.slice(2, 11),
      "North Pole started",
    ]);
    expect(text.slice(2, 11).sort()).toEqual(
      Array.from({ length: 9 }, (_, i) => `Reindeer ${i + 1} delivering toys`).sort(),
    );
    expect(lines[0]).toMatch(/^\d\d:\d\d:\d\d\.\d\d\d /);
  });

  test("log of large groups: cut between events, under Convex's array limit", async () => {
    // 500 dispatches of groups past 50: 53 lines each, 26,500 in all.
    await t.run(async (ctx) => {
      for (let seq = 0; seq < 500; seq++) {
        await ctx.db.insert("events", {
          seq,
          at: Date.now() + seq,
          generation: 1,
          kind: "dispatch",
          lines: dispatchLines("reindeer", Array.from({ length: 1000 }, (_, i) => i + 1)),
        });
      }
    });
    const lines = await t.query(api.sim.log, { limit: 500 });
    expect(lines.length).toBeLessThanOrEqual(MAX_LOG_LINES + 1);
    expect(lines.length).toBeGreaterThan(MAX_LOG_LINES - 53);
    expect(MAX_LOG_LINES).toBeLessThan(8192);
    // Whole events only, newest first, then the note.
    expect((lines.length - 1) % 53).toBe(0);
    expect(lines.at(-1)).toBe(
      `... older events left out: sim:log returns ${MAX_LOG_LINES} lines at most`,
    );
    expect(lines[0]).toMatch(/ ----------$/);
    expect(lines[1]).toMatch(/ Ho! Ho! Ho! let's deliver toys$/);
  });

  test("log refuses a bad limit", async () => {
    await expect(t.query(api.sim.log, { limit: 0 })).rejects.toThrow(/limit must be an integer from 1 to 500/);
    await expect(t.query(api.sim.log, { limit: 501 })).rejects.toThrow(/limit must be an integer from 1 to 500/);
  });

  test("the dispatch prints the classic lines to the function logs", async () => {
    const logged: string[] = [];
    vi.spyOn(console, "log").mockImplementation((...a: unknown[]) => {
      logged.push(a.join(" "));
    });
    await t.mutation(internal.sim.start, {});
    expect(logged).toContain("Ho! Ho! Ho! let's deliver toys");
    expect(logged).toContain("Reindeer 8 delivering toys");
  });
});
