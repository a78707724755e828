/// <reference types="vite/client" />
/**
 * The one place that builds a North Pole for tests, the simulator and the
 * benchmark: convex-test with the app's schema and functions, the workpool
 * component registered, every function execution counted, and a driver that
 * steps virtual time one timer at a time, running the watchdog cron on its
 * schedule as Convex would.
 */
import { convexTest } from "convex-test";
import { vi } from "vitest";
import workpool from "@convex-dev/workpool/test";
import batchWorker from "@convex-dev/batch-worker/test";
import schema from "../convex/schema";
import { internal } from "../convex/_generated/api";
import { WATCHDOG_INTERVAL_SECONDS } from "../convex/repair";

type Modules = Record<string, () => Promise<Record<string, unknown>>>;

/** The app's function modules, as `npx convex dev` bundles them. */
export const appModules = import.meta.glob([
  "../convex/**/*.ts",
  "../convex/_generated/*.js",
  "!../convex/**/*.test.ts",
  "!../convex/**/*.d.ts",
]) as Modules;

/** Function executions by name ("module:function"), components included. */
export class ExecutionCounter {
  readonly byFunction = new Map<string, number>();
  total = 0;
  /** Wall time spent inside handlers (outermost executions only), ms. */
  handlerMs = 0;
  private depth = 0;

  record(name: string) {
    this.byFunction.set(name, (this.byFunction.get(name) ?? 0) + 1);
    this.total += 1;
  }
  enter(): number {
    this.depth += 1;
    return this.depth === 1 ? performance.now() : 0;
  }
  exit(started: number) {
    this.depth -= 1;
    if (this.depth === 0) this.handlerMs += performance.now() - started;
  }
  snapshot(): Map<string, number> {
    return new Map(this.byFunction);
  }
  reset() {
    this.byFunction.clear();
    this.total = 0;
    this.handlerMs = 0;
  }
}

const WRAPPED = Symbol("counted");

/** Wraps every registered function of a module glob to count executions. */
function counted(modules: Modules, prefix: string, counter: ExecutionCounter) {
  const out: Modules = {};
  for (const [path, load] of Object.entries(modules)) {
    const name = prefix + path.replace(/^.*?(convex|component)\//, "").replace(/\.[jt]s$/, "");
    out[path] = async () => {
      const mod = await load();
      for (const [exportName, fn] of Object.entries(mod)) {
        const f = fn as { _handler?: (...a: unknown[]) => unknown; [WRAPPED]?: true };
        if (typeof f?._handler !== "function" || f[WRAPPED]) continue;
        const handler = f._handler;
        const label = `${name}:${exportName}`;
        f._handler = async (...args: unknown[]) => {
          counter.record(label);
          const started = counter.enter();
          try {
            return await handler(...args);
          } finally {
            counter.exit(started);
          }
        };
        f[WRAPPED] = true;
      }
      return mod;
    };
  }
  return out;
}

export type Options = {
  /** Enforce Convex's per-transaction limits (documents read, written...). */
  transactionLimits?: boolean;
};

/** A fresh North Pole backend. Call `vi.useFakeTimers()` first. */
export function newBackend(options: Options = {}) {
  const counter = new ExecutionCounter();
  const t = convexTest({
    schema,
    modules: counted(appModules, "", counter),
    transactionLimits: options.transactionLimits ?? false,
  });
  t.registerComponent(
    "repairPool",
    workpool.schema,
    counted(workpool.modules as Modules, "repairPool/", counter),
  );
  t.registerComponent(
    "repairPool/batchWorker",
    batchWorker.schema,
    counted(batchWorker.modules as Modules, "repairPool/batchWorker/", counter),
  );
  return { t, counter };
}

export type Backend = ReturnType<typeof newBackend>["t"];

/** A deterministic PRNG (mulberry32). */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let r = Math.imul(a ^ (a >>> 15), 1 | a);
    r = (r + Math.imul(r ^ (r >>> 7), 61 | r)) ^ r;
    return ((r ^ (r >>> 14)) >>> 0) / 4294967296;
  };
}

/** Makes every Math.random in every handler come from one seeded PRNG. */
export function seedRandom(seed: number) {
  const random = mulberry32(seed);
  return vi.spyOn(Math, "random").mockImplementation(random);
}

/**
 * Steps virtual time. Each `next()` fires the next due timer (a scheduled
 * function, the workpool's loop, or the watchdog cron) and waits for what it
 * started to finish. The watchdog runs every WATCHDOG_INTERVAL_SECONDS, as
 * `crons.ts` has it, unless `watchdog: false`.
 */
export class Driver {
  private cronDue = false;
  private readonly cron: ReturnType<typeof setInterval> | null;

  constructor(
    readonly t: Backend,
    options: { watchdog?: boolean } = {},
  ) {
    this.cron =
      options.watchdog === false
        ? null
        : setInterval(() => {
            this.cronDue = true;
          }, WATCHDOG_INTERVAL_SECONDS * 1000);
  }

  /** Fires the next timer. Returns false when there is none. */
  async next(): Promise<boolean> {
    if (vi.getTimerCount() === 0) return false;
    vi.advanceTimersToNextTimer();
    await this.t.finishInProgressScheduledFunctions();
    if (this.cronDue) {
      this.cronDue = false;
      await this.t.mutation(internal.repair.watchdog, {});
    }
    return true;
  }

  /**
   * Runs until `ms` of virtual time have passed, calling `afterStep` after
   * every step. Stops early if nothing is scheduled at all.
   */
  async runFor(ms: number, afterStep?: () => Promise<void> | void) {
    const end = Date.now() + ms;
    while (Date.now() < end) {
      if (!(await this.next())) break;
      if (afterStep) await afterStep();
    }
  }

  /** Runs until `done()` is true or `maxMs` of virtual time have passed. */
  async runUntil(
    done: () => Promise<boolean> | boolean,
    maxMs: number,
    afterStep?: () => Promise<void> | void,
  ): Promise<boolean> {
    const end = Date.now() + maxMs;
    while (Date.now() < end) {
      if (await done()) return true;
      if (!(await this.next())) break;
      if (afterStep) await afterStep();
    }
    return await done();
  }

  /** Lets whatever is due now (run-after-zero steps) run. */
  async settle() {
    for (let i = 0; i < 100; i++) {
      vi.advanceTimersByTime(0);
      await this.t.finishInProgressScheduledFunctions();
    }
  }

  dispose() {
    if (this.cron) clearInterval(this.cron);
  }
}

/** Every document of the app's tables, to compare before and after. */
export async function dumpState(t: Backend) {
  return await t.run(async (ctx) => ({
    northPole: await ctx.db.query("northPole").collect(),
    workers: await ctx.db.query("workers").collect(),
    events: await ctx.db.query("events").collect(),
    scheduled: (await ctx.db.system.query("_scheduled_functions").collect()).length,
  }));
}
