/**
 * Long runs in virtual time: the rules of the spec checked on the `workers`
 * table after every step, for several seeds and populations.
 */
import { afterEach, describe, expect, test, vi } from "vitest";
import { internal } from "../convex/_generated/api";
import { Driver, newBackend, seedRandom } from "./setup";
import { Checker } from "./invariants";

afterEach(() => {
  vi.useRealTimers();
  vi.restoreAllMocks();
});

const populations = [
  { reindeer: 9, elves: 10, elfGroupSize: 3 },
  { reindeer: 4, elves: 7, elfGroupSize: 2 },
  { reindeer: 1, elves: 1, elfGroupSize: 1 },
  { reindeer: 3, elves: 20, elfGroupSize: 5 },
];

describe.each(populations)("population %o", (population) => {
  test.each([1, 2, 3])("seed %i: two virtual minutes, rules after every step", async (seed) => {
    vi.useFakeTimers();
    seedRandom(seed);
    const { t } = newBackend();
    await t.mutation(internal.sim.seed, population);
    await t.mutation(internal.sim.start, {});
    const driver = new Driver(t);
    const checker = new Checker({ stuckAfterMs: 100 });
    let steps = 0;
    await driver.runFor(120_000, async () => {
      steps++;
      await checker.check(t);
    });
    driver.dispose();
    expect(checker.violations).toEqual([]);
    const end = await checker.check(t);
    const np = end.np!;
    // Both kinds of rounds happen, and every worker cycles.
    expect(np.rounds.reindeer).toBeGreaterThan(5);
    expect(np.rounds.elves).toBeGreaterThan(5);
    for (const w of end.workers) {
      expect(checker.transitions.get(w._id) ?? 0).toBeGreaterThanOrEqual(3);
    }
    // Without faults nothing is ever late and nothing needs repair.
    expect(checker.worstLatenessMs).toBeLessThanOrEqual(1);
    expect(np.stats).toEqual({ failures: 0, repairs: 0 });
    expect(steps).toBeGreaterThan(100);
  });
});
