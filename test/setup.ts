/**
 * The vitest side of the harness: everything in `backend.ts` (the one place
 * that builds a North Pole backend), with vitest's fake timers as the
 * driver's clock and vitest's spies for the seeded randomness. Tests import
 * from here; the simulator and the benchmark import `backend.ts` directly.
 */
import { afterEach, beforeEach, vi } from "vitest";
import {
  Driver as BaseDriver,
  mulberry32,
  type Backend,
  type DriverOptions,
  type VirtualClock,
} from "./backend";

export * from "./backend";

/** vitest's fake timers (`vi.useFakeTimers()`) as a driver's clock. */
export const vitestClock: VirtualClock = {
  count: () => vi.getTimerCount(),
  next: () => {
    vi.advanceTimersToNextTimer();
  },
  runDue: () => {
    vi.advanceTimersByTime(0);
  },
  now: () => Date.now(),
};

/** A driver on vitest's fake timers: `new Driver(t)` or `new Driver(t, options)`. */
export class Driver extends BaseDriver {
  constructor(t: Backend, options: DriverOptions = {}) {
    super(t, vitestClock, options);
  }
}

/** Makes every Math.random in every handler come from one seeded PRNG. */
export function seedRandom(seed: number) {
  const random = mulberry32(seed);
  return vi.spyOn(Math, "random").mockImplementation(random);
}

/**
 * For a test file: vitest's fake timers on before each test (so before
 * anything is scheduled), and the console quiet, since failed and repaired
 * steps log their errors; both undone after each test.
 */
export function useQuietVirtualTime() {
  beforeEach(() => {
    vi.useFakeTimers();
    vi.spyOn(console, "log").mockImplementation(() => {});
    vi.spyOn(console, "warn").mockImplementation(() => {});
    vi.spyOn(console, "error").mockImplementation(() => {});
  });
  afterEach(() => {
    vi.useRealTimers();
    vi.restoreAllMocks();
  });
}
