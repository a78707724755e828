/// <reference types="vite/client" />
/**
 * The one place that builds a North Pole backend for the tests, the offline
 * simulator and the benchmark: convex-test with the app's schema and
 * functions, the workpool component registered, every function execution
 * counted (with each transaction's reads and writes), and a driver that steps
 * virtual time one timer at a time, running the watchdog cron on its schedule
 * as Convex would.
 *
 * Nothing here imports vitest, so the simulator can run it under vite-node
 * with a fake clock of its own; `test/setup.ts` adds vitest's bindings.
 */
import { convexTest } from "convex-test";
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

/** What one transaction read and wrote (convex-test's transaction metrics). */
export type TransactionUsage = {
  documentsRead: number;
  documentsWritten: number;
  bytesRead: number;
  bytesWritten: number;
  databaseQueries: number;
  functionsScheduled: number;
};

/** One execution of a registered function, as the counter saw it. */
export type Execution = {
  /** "module:function", with the component path first for components. */
  name: string;
  type: "query" | "mutation" | "action";
  args: unknown;
  /** The handler's return value (undefined when it threw). */
  result: unknown;
  failed: boolean;
  /** The message of what it threw, when it failed. */
  error?: string;
  /** Wall time inside this handler, nested calls included, ms. */
  ms: number;
  /**
   * Set on the outermost function of a transaction (a query or mutation not
   * nested in another one): everything the whole transaction read and wrote,
   * nested calls into components included.
   */
  transaction?: TransactionUsage;
  /** Run under `observe()`: the harness looking, not the app working. */
  observer: boolean;
};

/**
 * Function executions by name ("module:function"), components included, and
 * the wall time spent inside handlers. Executions run under `observe()` (the
 * simulator reading `sim:status` to show it) are reported to listeners but
 * left out of the tallies, so that looking does not change what is measured.
 */
export class ExecutionCounter {
  readonly byFunction = new Map<string, number>();
  total = 0;
  /** Wall time spent inside handlers (outermost executions only), ms. */
  handlerMs = 0;
  private depth = 0;
  /** Queries and mutations in progress: 1 means the outermost transaction. */
  private txDepth = 0;
  private observing = 0;
  private readonly listeners = new Set<(e: Execution) => void>();

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

  /** Calls `listener` after every execution; returns how to stop. */
  listen(listener: (e: Execution) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /**
   * Runs `look` (which calls functions, e.g. `sim:status`) without counting
   * its executions. Only safe while nothing else runs, which is the case
   * between two driver steps.
   */
  async observe<T>(look: () => Promise<T>): Promise<T> {
    this.observing += 1;
    try {
      return await look();
    } finally {
      this.observing -= 1;
    }
  }

  /** The wrapper around every registered handler (see `counted`). */
  async run(
    name: string,
    type: Execution["type"],
    handler: (...a: unknown[]) => unknown,
    handlerArgs: unknown[],
  ): Promise<unknown> {
    const observer = this.observing > 0;
    const transactional = type !== "action";
    if (transactional) this.txDepth += 1;
    const outermostTx = transactional && this.txDepth === 1;
    if (!observer) this.record(name);
    const started = observer ? 0 : this.enter();
    const t0 = performance.now();
    let result: unknown = undefined;
    let failed = true;
    let error: string | undefined;
    try {
      result = await handler(...handlerArgs);
      failed = false;
      return result;
    } catch (e) {
      error = e instanceof Error ? e.message : String(e);
      throw e;
    } finally {
      const ms = performance.now() - t0;
      if (!observer) this.exit(started);
      // Read before the handler returns: the transaction is still open, and
      // nested calls have folded their usage into it.
      const transaction = outermostTx
        ? await transactionUsage(handlerArgs[0])
        : undefined;
      if (transactional) this.txDepth -= 1;
      const e: Execution = {
        name,
        type,
        args: handlerArgs[1],
        result,
        failed,
        error,
        ms,
        transaction,
        observer,
      };
      for (const listener of this.listeners) listener(e);
    }
  }
}

type Metric = { used: number };
type MetricsCtx = {
  meta?: { getTransactionMetrics?: () => Promise<Record<string, Metric>> };
};

async function transactionUsage(
  ctx: unknown,
): Promise<TransactionUsage | undefined> {
  const meta = (ctx as MetricsCtx | undefined)?.meta;
  if (typeof meta?.getTransactionMetrics !== "function") return undefined;
  let m: Record<string, Metric>;
  try {
    m = await meta.getTransactionMetrics();
  } catch {
    // Not in a transaction after all: nothing to report.
    return undefined;
  }
  return {
    documentsRead: m.documentsRead?.used ?? 0,
    documentsWritten: m.documentsWritten?.used ?? 0,
    bytesRead: m.bytesRead?.used ?? 0,
    bytesWritten: m.bytesWritten?.used ?? 0,
    databaseQueries: m.databaseQueries?.used ?? 0,
    functionsScheduled: m.functionsScheduled?.used ?? 0,
  };
}

type Registered = {
  _handler?: (...a: unknown[]) => unknown;
  isQuery?: boolean;
  isMutation?: boolean;
  isAction?: boolean;
  exportArgs?: () => string;
  exportReturns?: () => string;
};

function memoized(f: Registered, method: "exportArgs" | "exportReturns") {
  const original = f[method];
  if (typeof original !== "function") return {};
  let json: string | undefined;
  return { [method]: () => (json ??= original.call(f)) };
}

/**
 * Wraps every registered function of a module glob to count executions.
 * Each backend gets its own wrapped copies (the module's function objects are
 * shared by every backend in the process and left untouched), so that two
 * backends in one process, e.g. the benchmark's scenarios or two tests in
 * one file, each count their own executions.
 */
function counted(modules: Modules, prefix: string, counter: ExecutionCounter) {
  const out: Modules = {};
  for (const [path, load] of Object.entries(modules)) {
    const name =
      prefix +
      path.replace(/^.*?(convex|component)\//, "").replace(/\.[jt]s$/, "");
    const wrap = async () => {
      const mod = await load();
      const copy: Record<string, unknown> = { ...mod };
      for (const [exportName, fn] of Object.entries(mod)) {
        const f = fn as Registered;
        if (typeof f?._handler !== "function") continue;
        const handler = f._handler;
        const label = `${name}:${exportName}`;
        const type = f.isAction ? "action" : f.isQuery ? "query" : "mutation";
        // convex-test reads only properties of a registered function (its
        // flags, exportArgs, exportReturns and _handler), so a plain copy
        // with another _handler stands in for it.
        copy[exportName] = {
          ...f,
          _handler: (...args: unknown[]) =>
            counter.run(label, type, handler, args),
          // convex-test asks for the validators' JSON on every call; it
          // never changes, so it is made once.
          ...memoized(f, "exportArgs"),
          ...memoized(f, "exportReturns"),
        };
      }
      return copy;
    };
    // convex-test loads the module on every call; loading it through the
    // module runner each time costs more than most handlers, so once it is.
    let loaded: Promise<Record<string, unknown>> | null = null;
    out[path] = () => (loaded ??= wrap());
  }
  return out;
}

/** Modules a function call can load: no tests, no component configs. */
function loadable(modules: Modules): (() => Promise<unknown>)[] {
  return Object.entries(modules)
    .filter(([path]) => !/\.test\.|convex\.config\./.test(path))
    .map(([, load]) => load);
}

/**
 * Loads (and transforms) every function module up front. convex-test loads a
 * module when a function of it is first called; under vite-node that would
 * run the module transformer, with its own timers, while a fake clock is
 * installed, and would count its time as the simulator's.
 */
export async function preloadModules() {
  await Promise.all(
    [
      ...loadable(appModules),
      ...loadable(workpool.modules as Modules),
      ...loadable(batchWorker.modules as Modules),
    ].map((load) => load()),
  );
}

export type Options = {
  /** Enforce Convex's per-transaction limits (documents read, written...). */
  transactionLimits?: boolean;
};

/**
 * A fresh North Pole backend. Install fake timers first (vitest's
 * `vi.useFakeTimers()`, or a `@sinonjs/fake-timers` clock): convex-test
 * schedules functions with `setTimeout`.
 */
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

/**
 * The fake clock a driver steps. Tests use vitest's (`vitestClock` in
 * setup.ts), the simulator a `@sinonjs/fake-timers` one (`sinonClock`); both
 * fake the global timers that convex-test schedules functions with.
 */
export interface VirtualClock {
  /** Timers pending: scheduled functions, the workpool's, the cron. */
  count(): number;
  /** Moves time straight to the next due timer and fires it. */
  next(): void;
  /** Fires the timers due now without moving time. */
  runDue(): void;
  /** Virtual now, ms. */
  now(): number;
}

/** The subset of a `@sinonjs/fake-timers` clock that `sinonClock` uses. */
export type SinonLikeClock = {
  countTimers(): number;
  next(): number;
  tick(ms: number): number;
  now: number;
};

export function sinonClock(clock: SinonLikeClock): VirtualClock {
  return {
    count: () => clock.countTimers(),
    next: () => {
      clock.next();
    },
    runDue: () => {
      clock.tick(0);
    },
    now: () => clock.now,
  };
}

export type DriverOptions = {
  /** Run the watchdog cron every WATCHDOG_INTERVAL_SECONDS (default true). */
  watchdog?: boolean;
};

/**
 * Steps virtual time. Each `next()` moves the clock straight to the next due
 * timer (a scheduled function, the workpool's loop, or the watchdog cron),
 * fires it and waits for what it started to finish: no fixed ticks. The
 * watchdog runs every WATCHDOG_INTERVAL_SECONDS, as `crons.ts` has it, unless
 * `watchdog: false`.
 */
export class Driver {
  private cronDue = false;
  private readonly cron: ReturnType<typeof setInterval> | null;

  constructor(
    readonly t: Backend,
    readonly clock: VirtualClock,
    options: DriverOptions = {},
  ) {
    // A faked setInterval: the cron is one more timer on the same clock.
    this.cron =
      options.watchdog === false
        ? null
        : setInterval(() => {
            this.cronDue = true;
          }, WATCHDOG_INTERVAL_SECONDS * 1000);
  }

  /** Fires the next timer. Returns false when there is none. */
  async next(): Promise<boolean> {
    if (this.clock.count() === 0) return false;
    this.clock.next();
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
    const end = this.clock.now() + ms;
    while (this.clock.now() < end) {
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
    const end = this.clock.now() + maxMs;
    while (this.clock.now() < end) {
      if (await done()) return true;
      if (!(await this.next())) break;
      if (afterStep) await afterStep();
    }
    return await done();
  }

  /** Lets whatever is due now (run-after-zero steps) run. */
  async settle() {
    for (let i = 0; i < 100; i++) {
      this.clock.runDue();
      await this.t.finishInProgressScheduledFunctions();
    }
  }

  dispose() {
    if (this.cron) clearInterval(this.cron);
  }
}

/** The North Pole document, which a test expects to exist. */
export async function readNorthPole(t: Backend) {
  return (await t.run((ctx) => ctx.db.query("northPole").unique()))!;
}

/** Every document of the app's tables, to compare before and after. */
export async function dumpState(t: Backend) {
  return await t.run(async (ctx) => ({
    northPole: await ctx.db.query("northPole").collect(),
    workers: await ctx.db.query("workers").collect(),
    events: await ctx.db.query("events").collect(),
    scheduled: (await ctx.db.system.query("_scheduled_functions").collect())
      .length,
  }));
}
