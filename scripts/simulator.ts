/**
 * The offline North Pole: the project's own Convex functions, run in-process
 * on convex-test's backend in virtual time, with no deployment and no network.
 * `npm run simulate` (scripts/simulate.ts) and `npm run bench`
 * (scripts/bench.ts) both run it through `runSimulation`.
 *
 * Time is a `@sinonjs/fake-timers` clock installed over the global timers and
 * `Date` for the length of a run: convex-test schedules every function with
 * `setTimeout`, so each driver step moves the clock straight to the next due
 * timer and runs what it started. `Math.random` comes from a seeded PRNG for
 * the same length, so a seed gives the same run, event for event.
 *
 * Watching costs nothing the functions would not do anyway: the log lines are
 * the ones the functions print (`console.log`, as `npx convex logs` shows
 * them), kept when their transaction commits; rounds, Santa's busy time and
 * the elves' waits are read from those lines and from the functions' results.
 * convex-test scans a whole table for every index query, so a database read
 * per step would cost as much as the step itself; only the checker (`check`)
 * and `sim:status` for a view (`status`) read the database, when asked for.
 */
import { install, type Clock } from "@sinonjs/fake-timers";
import type { FunctionReturnType } from "convex/server";
import { api, internal } from "../convex/_generated/api";
import type { Id } from "../convex/_generated/dataModel";
import {
  DEFAULTS,
  LIMITS,
  MAX_MEMBER_LINES,
  dispatchLines,
  releaseLine,
  type WorkerType,
} from "../convex/rules";
import {
  Driver,
  mulberry32,
  newBackend,
  preloadModules,
  sinonClock,
  type Backend,
  type Execution,
  type ExecutionCounter,
} from "../test/backend";
import { Checker, snapshot as takeSnapshot, type Snapshot } from "../test/invariants";

/** Virtual time starts here, so that a seed fixes the timestamps too. */
export const START_AT = Date.UTC(2024, 11, 24, 0, 0, 0);

/** What `sim:status` returns for an existing North Pole. */
export type LiveStatus = Extract<
  FunctionReturnType<typeof api.sim.status>,
  { exists: true }
>;

export type SimOptions = {
  reindeer?: number;
  elves?: number;
  /** Elves per group (G). */
  group?: number;
  /** Stop after this many completed rounds (both kinds together)... */
  rounds?: number;
  /** ...or after this much virtual time. Default: 1 minute. */
  minutes?: number;
  maxWorkMs?: number;
  maxVacationMs?: number;
  /** Share of actor steps that fail on purpose (sim:setChaos). */
  chaos?: number;
  /** Seed of Math.random; the same seed gives the same run. */
  seed?: number;
  /**
   * Run the independent checker (test/invariants.ts) after every step. It
   * reads the whole `workers` table each time, which convex-test does in
   * time proportional to the table: on by default, off for the benchmark's
   * large populations.
   */
  check?: boolean;
  /** Read `sim:status` after every step, for `onStep` (a view). */
  status?: boolean;
  /**
   * Read the North Pole and its workers after every step, for `onStep` (a
   * timeline). Free when `check` is on: the checker reads the same.
   */
  snapshots?: boolean;
  /** Enforce Convex's per-transaction limits (default true). */
  transactionLimits?: boolean;
  /**
   * A storm of operator commands (`npm run soak`): random `sim:start`,
   * `sim:stop`, `sim:seed` (small populations), `sim:setSpeeds` and
   * `sim:setChaos`, at random moments on average `meanGapMs` apart, for the
   * first `untilMs` of the run; then `sim:setChaos` back to `chaos` and
   * `sim:start`, and the run goes on calm. Null: no storm (the default).
   */
  storm?: { meanGapMs: number; untilMs: number } | null;
};

export type ResolvedOptions = Required<
  Omit<SimOptions, "rounds" | "minutes" | "storm">
> & {
  storm: { meanGapMs: number; untilMs: number } | null;
  rounds: number | null;
  minutes: number | null;
};

/** One line the functions printed, in a transaction that committed. */
export type LogLine = {
  /** Virtual time of the transaction, ms since the epoch. */
  at: number;
  text: string;
};

export type StepInfo = {
  /** Steps so far (one timer fired per step). */
  step: number;
  /** Virtual now, ms since the epoch. */
  now: number;
  /** Virtual time since the simulator began (START_AT), ms. */
  elapsedMs: number;
  /** The lines printed during this step, oldest first. */
  lines: LogLine[];
  /** Rounds completed so far. */
  rounds: { reindeer: number; elves: number };
  /** 0..1, towards the end of the run (in rounds or in virtual time). */
  progress: number;
  /** `sim:status` after the step, with `status: true`; otherwise null. */
  status: LiveStatus | null;
  /**
   * The North Pole and its workers after the step (test/invariants.ts's
   * `Snapshot`), with `snapshots` or `check`; otherwise null.
   */
  snapshot: Snapshot | null;
};

export type SimCallbacks = {
  /** Called once after the start and after every step. */
  onStep?: (info: StepInfo) => void | Promise<void>;
};

export type Distribution = {
  count: number;
  mean: number;
  p50: number;
  p99: number;
  max: number;
};

export type PerRound = {
  /** Executions per round, measured (see `Run.onExecution`). */
  measured: number;
  /** The spec's floor: G+1 for elves, R+1 for reindeer. */
  floor: number;
  /** The design that waited on client subscriptions: 6G+3, 6R+3. */
  subscriptionDesign: number;
};

export type SimResult = {
  options: ResolvedOptions;
  steps: number;
  virtualMs: number;
  wallMs: number;
  /** Wall time inside the Convex function handlers, ms. */
  handlerMs: number;
  /** wallMs / handlerMs: what the harness adds around the handlers. */
  overheadRatio: number;
  virtualSecondsPerWallSecond: number;
  rounds: { reindeer: number; elves: number };
  roundsPerVirtualMinute: number;
  /** Share of the running time Santa spent delivering or meeting. */
  santaBusyShare: number;
  /** Elves, from ready to working, ms. */
  elfWaitMs: Distribution;
  executions: {
    total: number;
    byFunction: Record<string, number>;
    /** Executions attributed to each kind's rounds, shared, and commands. */
    attributed: { reindeer: number; elves: number; shared: number; commands: number };
    perRound: { reindeer: PerRound; elves: PerRound };
    failed: number;
    /** Failed executions that chaos mode made fail on purpose. */
    injected: number;
    /** The first few messages of failed executions. */
    failures: string[];
    /** Failed executions whose error is not chaos's, and the first few. */
    unexpected: { count: number; first: string[] };
  };
  /** Per top-level transaction (queries and mutations, components included). */
  transactions: {
    count: number;
    documentsRead: Distribution & { maxBy: string };
    documentsWritten: Distribution & { maxBy: string };
    functionsScheduled: { max: number; maxBy: string };
  };
  /** Documents `sim:status` read, at the most, when the simulator looked. */
  statusMaxDocumentsRead: number;
  /** From the checker; null when it did not run. */
  violations: { count: number; first: string[] } | null;
  /**
   * From the checker: the latest any actor was past its due time while the
   * North Pole ran, ms (the "worst stuck time"); null without the checker.
   */
  worstLatenessMs: number | null;
  /**
   * From the checker: the fewest state changes any worker of the final North
   * Pole made after the storm (or the whole run without one); null without
   * the checker. Zero means a worker was lost.
   */
  fewestTransitions: number | null;
  /** Commands the storm issued, by name; {} without a storm. */
  stormCommands: Record<string, number>;
  /**
   * Failures seen and repairs made, as `sim:status` counts them, summed over
   * every North Pole of the run (a storm's reseeds start each at zero).
   */
  selfRepair: { failuresSeen: number; repairs: number };
  finalStatus: LiveStatus;
};

export function withDefaults(options: SimOptions): ResolvedOptions {
  const rounds = options.rounds ?? null;
  const minutes = options.minutes ?? (rounds === null ? 1 : null);
  return {
    reindeer: options.reindeer ?? DEFAULTS.reindeer,
    elves: options.elves ?? DEFAULTS.elves,
    group: options.group ?? DEFAULTS.elfGroupSize,
    rounds,
    minutes,
    maxWorkMs: options.maxWorkMs ?? DEFAULTS.maxWorkMs,
    maxVacationMs: options.maxVacationMs ?? DEFAULTS.maxVacationMs,
    chaos: options.chaos ?? 0,
    seed: options.seed ?? 1,
    check: options.check ?? true,
    status: options.status ?? false,
    snapshots: options.snapshots ?? false,
    transactionLimits: options.transactionLimits ?? true,
    storm: options.storm ?? null,
  };
}

/** What is wrong with the options, by flag name; [] when they are good. */
export function checkOptions(o: ResolvedOptions): string[] {
  const problems: string[] = [];
  const integer = (name: string, v: number, min: number, max: number) => {
    if (!Number.isInteger(v) || v < min || v > max) {
      problems.push(`${name} must be an integer from ${min} to ${max}, got ${v}`);
    }
  };
  integer("--reindeer", o.reindeer, LIMITS.reindeer.min, LIMITS.reindeer.max);
  integer("--elves", o.elves, LIMITS.elves.min, LIMITS.elves.max);
  integer("--group", o.group, LIMITS.elfGroupSize.min, LIMITS.elfGroupSize.max);
  integer("--max-work-ms", o.maxWorkMs, LIMITS.maxWorkMs.min, LIMITS.maxWorkMs.max);
  integer(
    "--max-vacation-ms",
    o.maxVacationMs,
    LIMITS.maxVacationMs.min,
    LIMITS.maxVacationMs.max,
  );
  integer("--rng-seed", o.seed, 0, 2 ** 32 - 1);
  if (o.rounds !== null) integer("--rounds", o.rounds, 1, 1_000_000);
  if (o.minutes !== null && !(o.minutes > 0 && o.minutes <= 10_080)) {
    problems.push(
      `--minutes must be a number above 0 and at most 10080 (a week), got ${o.minutes}`,
    );
  }
  if (o.rounds !== null && o.minutes !== null) {
    problems.push("give --rounds or --minutes, not both");
  }
  if (!(o.chaos >= 0 && o.chaos <= 1)) {
    problems.push(`--chaos must be a number from 0 to 1, got ${o.chaos}`);
  }
  if (
    o.storm !== null &&
    !(o.storm.meanGapMs >= 1 && o.storm.untilMs >= 0 && Number.isFinite(o.storm.untilMs))
  ) {
    problems.push("a storm needs a mean gap of at least 1 ms and a finite length");
  }
  if (problems.length === 0 && o.elves < o.group) {
    problems.push(
      `--elves (${o.elves}) must be at least --group (${o.group}), or no group of elves could ever form`,
    );
  }
  return problems;
}

export function distribution(values: number[]): Distribution {
  if (values.length === 0) return { count: 0, mean: 0, p50: 0, p99: 0, max: 0 };
  const sorted = [...values].sort((a, b) => a - b);
  // Nearest rank: every percentile is a value that was observed.
  const rank = (p: number) =>
    sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
  return {
    count: sorted.length,
    mean: sorted.reduce((a, b) => a + b, 0) / sorted.length,
    p50: rank(50),
    p99: rank(99),
    max: sorted[sorted.length - 1]!,
  };
}

/** "00:01:23.456": virtual time since the start of the run. */
export function formatElapsed(ms: number): string {
  const h = Math.floor(ms / 3_600_000);
  const rest = new Date(ms % 3_600_000).toISOString().slice(14, 23);
  return `${String(h).padStart(2, "0")}:${rest}`;
}

/**
 * Runs one North Pole from seed to end and returns what it measured. For the
 * length of the run it installs a fake clock and a seeded Math.random and
 * takes over the functions' console output; it puts the real ones back after.
 */
export async function runSimulation(
  options: SimOptions = {},
  callbacks: SimCallbacks = {},
): Promise<SimResult> {
  const o = withDefaults(options);
  const problems = checkOptions(o);
  if (problems.length > 0) throw new Error(problems.join("; "));

  // Loaded now, with real timers, rather than on first call mid-run.
  await preloadModules();
  const realRandom = Math.random;
  const realConsole = { ...console };
  let clock: Clock | null = null;
  let driver: Driver | null = null;
  let stopListening = () => {};
  try {
    // Before the backend: convex-test takes the timers it finds.
    clock = install({
      now: START_AT,
      toFake: ["setTimeout", "clearTimeout", "setInterval", "clearInterval", "Date"],
      loopLimit: 1_000_000,
    });
    Math.random = mulberry32(o.seed);
    const wallStart = performance.now();
    const { t, counter } = newBackend({ transactionLimits: o.transactionLimits });
    const run = new Run(t, counter, o, clock);
    // The functions print to the shared console object (convex-test gives
    // each handler the global console); lines wait for their transaction.
    console.log = (...args: unknown[]) => run.onLog(args);
    for (const method of ["info", "warn", "error", "debug"] as const) {
      console[method] = () => {};
    }
    stopListening = counter.listen((e) => run.onExecution(e));
    driver = new Driver(t, sinonClock(clock));
    await run.execute(driver, callbacks);
    const wallMs = performance.now() - wallStart;
    return run.summary(wallMs, await run.status());
  } finally {
    stopListening();
    driver?.dispose();
    clock?.uninstall();
    Math.random = realRandom;
    Object.assign(console, realConsole);
  }
}

type WorkerInfo = { type: WorkerType; number: number };

const HEADERS: Record<WorkerType, string> = {
  reindeer: dispatchLines("reindeer", [])[1]!,
  elves: dispatchLines("elves", [])[1]!,
};
/** A release line, by the words before the group size. */
const RELEASE_PREFIX: Record<WorkerType, string> = {
  reindeer: releaseLine("reindeer", 0).split(" 0 ")[0]!,
  elves: releaseLine("elves", 0).split(" 0 ")[0]!,
};
const ELF_LINE = /^Elf (\d+) /;

/** The state of one run while it goes. */
class Run {
  private readonly workers = new Map<string, WorkerInfo>();
  /** Elf number -> when it became ready. */
  private readonly readySince = new Map<number, number>();
  private readonly elfWaits: number[] = [];
  /** Elves dispatched by the transaction that just committed. */
  private readonly justDispatched = new Set<number>();
  /** An elf group too large for its lines: read the rest of it. */
  private needGroup = false;
  private readonly attributed = { reindeer: 0, elves: 0, shared: 0, commands: 0 };
  private readonly reads: number[] = [];
  private readonly writes: number[] = [];
  private maxRead = -1;
  private maxReadBy = "";
  private maxWrite = -1;
  private maxWriteBy = "";
  private maxScheduled = 0;
  private maxScheduledBy = "";
  private statusMaxRead = 0;
  private failed = 0;
  private injected = 0;
  /** Failures that chaos did not cause, and the first few of them. */
  private unexpected = 0;
  private readonly unexpectedFailures: string[] = [];
  private readonly failures: string[] = [];
  private readonly stormCommands: Record<string, number> = {};
  /** Failures seen and repairs made by North Poles a storm reseeded. */
  private readonly carried = { failures: 0, repairs: 0 };
  private previous = { failures: 0, repairs: 0 };
  /** The checker's transition counts when the storm ended. */
  private calmFrom: Map<string, number> | null = null;
  /** Lines printed by the transaction in progress. */
  private pending: string[] = [];
  /** Lines of committed transactions since the last step was reported. */
  private lines: LogLine[] = [];
  private readonly rounds = { reindeer: 0, elves: 0 };
  /** When Santa took his current group; null while he sleeps. */
  private busySince: number | null = null;
  private busyMs = 0;
  private readonly checker: Checker | null;
  private steps = 0;
  /** Ids of the workers in the latest snapshot. */
  private lastWorkers: string[] = [];
  /** The start command has run: executions from here on are the run's. */
  private started = false;

  constructor(
    private readonly t: Backend,
    private readonly counter: ExecutionCounter,
    private readonly o: ResolvedOptions,
    private readonly clock: Clock,
  ) {
    // Without chaos nothing is ever late; with it (a storm may turn it on),
    // the watchdog's interval, its grace and the workpool's retries allow
    // for some lateness.
    this.checker = o.check
      ? new Checker({ stuckAfterMs: o.chaos > 0 || o.storm !== null ? 30_000 : 100 })
      : null;
  }

  onLog(args: unknown[]) {
    this.pending.push(args.map(String).join(" "));
  }

  /**
   * Tallies one execution. Attribution of executions to rounds:
   * - a worker's `comeBack` counts for its kind's rounds;
   * - Santa's `finishWork` counts for the kind of group it released (read
   *   from the release line it printed); one that released nothing (stale,
   *   parked, failed) is shared;
   * - the operator commands (`sim:*`) count for no round: they are setup;
   * - everything else (the watchdog cron, repair re-runs, the workpool
   *   component, `armPending`) is shared, spread evenly over all rounds.
   */
  onExecution(e: Execution) {
    if (e.observer) {
      if (e.transaction) {
        this.statusMaxRead = Math.max(this.statusMaxRead, e.transaction.documentsRead);
      }
      return;
    }
    let released: WorkerType | null = null;
    if (e.transaction) {
      // The outermost function of a transaction: its lines stand or fall
      // with it, as the events it appended do.
      if (!e.failed) released = this.commitLines(this.pending, Date.now());
      this.pending = [];
      const { documentsRead: r, documentsWritten: w } = e.transaction;
      this.reads.push(r);
      this.writes.push(w);
      if (r > this.maxRead) {
        this.maxRead = r;
        this.maxReadBy = e.name;
      }
      if (w > this.maxWrite) {
        this.maxWrite = w;
        this.maxWriteBy = e.name;
      }
      if (e.transaction.functionsScheduled > this.maxScheduled) {
        this.maxScheduled = e.transaction.functionsScheduled;
        this.maxScheduledBy = e.name;
      }
    }
    if (e.failed) {
      this.failed += 1;
      // Counted where chaos throws, not again in the re-run action around it.
      if (
        (e.name === "workers:comeBack" || e.name === "santa:finishWork") &&
        String(e.error).includes("chaos: ")
      ) {
        this.injected += 1;
      }
      const message = `${e.name}: ${e.error}`;
      if (this.failures.length < 10) this.failures.push(message);
      if (!message.includes("chaos: ")) {
        this.unexpected += 1;
        if (this.unexpectedFailures.length < 10) this.unexpectedFailures.push(message);
      }
    }
    if (!this.started || e.name.startsWith("sim:")) {
      this.attributed.commands += 1;
    } else if (e.name === "workers:comeBack") {
      const { workerId } = e.args as { workerId: Id<"workers"> };
      const w = this.workers.get(workerId);
      this.attributed[w?.type ?? "shared"] += 1;
      const result = e.result as { kind?: string } | undefined;
      if (w?.type === "elves" && result?.kind === "done") {
        // Ready as of this transaction; if its return completed a group, the
        // dispatch lines (committed just above) already took it.
        if (!this.justDispatched.has(w.number)) {
          this.readySince.set(w.number, Date.now());
        }
      }
    } else if (e.name === "santa:finishWork" && released !== null) {
      this.attributed[released] += 1;
    } else {
      this.attributed.shared += 1;
    }
    this.justDispatched.clear();
  }

  /**
   * Reads a committed transaction's lines: releases end Santa's work and
   * count rounds; dispatches start it and end the elves' waits. Returns the
   * kind of group released, if any.
   */
  private commitLines(texts: string[], at: number): WorkerType | null {
    let released: WorkerType | null = null;
    let dispatching: WorkerType | null = null;
    for (const text of texts) {
      this.lines.push({ at, text });
      for (const kind of ["reindeer", "elves"] as const) {
        if (text.startsWith(RELEASE_PREFIX[kind])) {
          released = kind;
          this.rounds[kind] += 1;
          if (this.busySince !== null) this.busyMs += at - this.busySince;
          this.busySince = null;
        }
        if (text === HEADERS[kind]) {
          dispatching = kind;
          this.busySince = at;
        }
      }
      const elf = dispatching === "elves" ? ELF_LINE.exec(text) : null;
      if (elf) this.elfServed(Number(elf[1]), at);
    }
    if (dispatching === "elves" && this.o.group > MAX_MEMBER_LINES) {
      // The lines name the first MAX_MEMBER_LINES members only.
      this.needGroup = true;
    }
    return released;
  }

  private elfServed(n: number, at: number) {
    const since = this.readySince.get(n);
    // An elf whose return completed the group never waited.
    this.elfWaits.push(since === undefined ? 0 : at - since);
    this.readySince.delete(n);
    this.justDispatched.add(n);
  }

  async execute(driver: Driver, callbacks: SimCallbacks) {
    const { t, o, clock } = this;
    await t.mutation(internal.sim.seed, {
      reindeer: o.reindeer,
      elves: o.elves,
      elfGroupSize: o.group,
    });
    await t.mutation(internal.sim.setSpeeds, {
      maxWorkMs: o.maxWorkMs,
      maxVacationMs: o.maxVacationMs,
    });
    // Seeding past one batch goes on in run-after-zero steps (which
    // convex-test may place a millisecond later: commits at one instant
    // advance its transaction clock).
    const total = o.reindeer + o.elves;
    const seeded = await driver.runUntil(async () => {
      const np = await t.query(async (ctx) => ctx.db.query("northPole").unique());
      return np !== null && np.seeded >= total;
    }, 60_000);
    if (!seeded) throw new Error(`seeding ${total} workers did not finish`);
    await this.learnWorkers();
    if (o.chaos > 0) {
      await t.mutation(internal.sim.setChaos, { failureRate: o.chaos });
    }
    this.started = true;
    await t.mutation(internal.sim.start, {});

    let timeUp = false;
    if (o.minutes !== null) {
      // One more timer on the same clock: the run ends exactly on time.
      setTimeout(() => {
        timeUp = true;
      }, o.minutes * 60_000);
    }
    const roundsDone = () =>
      o.rounds !== null && this.rounds.reindeer + this.rounds.elves >= o.rounds;

    let controlDue = false;
    let stormOver = o.storm === null;
    const nextControl = () =>
      setTimeout(() => {
        controlDue = true;
      }, Math.floor(Math.random() * 2 * o.storm!.meanGapMs));
    if (o.storm !== null) nextControl();
    else this.calmFrom = new Map();

    await this.afterStep(callbacks);
    while (!timeUp && !roundsDone()) {
      if (!(await driver.next())) break;
      this.steps += 1;
      if (controlDue) {
        controlDue = false;
        if (clock.now - START_AT < o.storm!.untilMs) {
          await this.control();
          nextControl();
        } else if (!stormOver) {
          stormOver = true;
          await this.calm();
        }
      }
      await this.afterStep(callbacks);
    }
    if (this.busySince !== null) this.busyMs += clock.now - this.busySince;
  }

  /** One random operator command of a storm. */
  private async control() {
    const { t } = this;
    const rnd = Math.random;
    const pick = <T>(xs: T[]) => xs[Math.floor(rnd() * xs.length)]!;
    const command = pick(["start", "stop", "seed", "speeds", "chaos", "start", "stop"]);
    this.stormCommands[command] = (this.stormCommands[command] ?? 0) + 1;
    if (command === "start") await t.mutation(internal.sim.start, {});
    if (command === "stop") await t.mutation(internal.sim.stop, {});
    if (command === "speeds") {
      await t.mutation(internal.sim.setSpeeds, {
        maxWorkMs: 1 + Math.floor(rnd() * 2000),
        maxVacationMs: 1 + Math.floor(rnd() * 2000),
      });
    }
    if (command === "chaos") {
      await t.mutation(internal.sim.setChaos, { failureRate: pick([0, 0.1, 0.25, 0.5]) });
    }
    if (command === "seed") {
      const old = await t.query(async (ctx) => ctx.db.query("northPole").unique());
      this.previous = old?.stats ?? { failures: 0, repairs: 0 };
      const group = 1 + Math.floor(rnd() * 4);
      await t.mutation(internal.sim.seed, {
        reindeer: 1 + Math.floor(rnd() * 9),
        elves: group + Math.floor(rnd() * 10),
        elfGroupSize: group,
      });
      // A new North Pole: its stats start at zero, its workers all ready,
      // Santa asleep.
      this.carried.failures += this.previous.failures;
      this.carried.repairs += this.previous.repairs;
      this.readySince.clear();
      this.busySince = null;
      await this.learnWorkers();
    }
  }

  /** The storm is over: chaos as asked, running, and from here on calm. */
  private async calm() {
    const { t, o } = this;
    await t.mutation(internal.sim.setChaos, { failureRate: o.chaos });
    await t.mutation(internal.sim.start, {});
    this.calmFrom = new Map(this.checker?.transitions ?? []);
  }

  /** Maps worker ids to kinds and numbers, once, after seeding. */
  private async learnWorkers() {
    const all = await this.t.query(async (ctx) => {
      const np = await ctx.db.query("northPole").unique();
      if (np === null) return [];
      return await ctx.db
        .query("workers")
        .withIndex("by_state", (q) => q.eq("generation", np.generation))
        .collect();
    });
    for (const w of all) {
      this.workers.set(w._id, { type: w.workerType, number: w.number });
      if (w.workerType === "elves" && w.state === "ready") {
        this.readySince.set(w.number, w.since);
      }
    }
  }

  /** Checks the rules (if asked to) and reports the step. */
  private async afterStep(callbacks: SimCallbacks) {
    const { t, o, clock } = this;
    const now = clock.now;
    if (this.needGroup) {
      this.needGroup = false;
      const np = await t.query(async (ctx) => ctx.db.query("northPole").unique());
      for (const n of np?.santa.group.slice(MAX_MEMBER_LINES) ?? []) {
        this.elfServed(n, np!.santa.since);
      }
      this.justDispatched.clear();
    }
    let snapshot: Snapshot | null = null;
    if (this.checker || o.snapshots) {
      // Date.now() is the fake clock's: the snapshot is dated `now`.
      snapshot = await takeSnapshot(t);
      this.checker?.checkSnapshot(snapshot);
      this.lastWorkers = snapshot.workers.map((w) => w._id as string);
    }
    const lines = this.lines;
    this.lines = [];
    if (callbacks.onStep) {
      await callbacks.onStep({
        step: this.steps,
        now,
        elapsedMs: now - START_AT,
        lines,
        rounds: { ...this.rounds },
        progress: this.progress(now),
        status: o.status ? await this.status() : null,
        snapshot,
      });
    }
  }

  /** 0..1: how far the run is. */
  private progress(now: number): number {
    const { o } = this;
    if (o.rounds !== null) {
      return Math.min(1, (this.rounds.reindeer + this.rounds.elves) / o.rounds);
    }
    return Math.min(1, (now - START_AT) / ((o.minutes ?? 1) * 60_000));
  }

  /** Reads `sim:status` without counting it as the app's work. */
  async status(): Promise<LiveStatus> {
    const s = await this.counter.observe(() => this.t.query(api.sim.status, {}));
    if (!s.exists) throw new Error("the North Pole is gone");
    return s;
  }

  summary(wallMs: number, finalStatus: LiveStatus): SimResult {
    const { o, counter } = this;
    const virtualMs = this.clock.now - START_AT;
    const rounds = { ...this.rounds };
    const totalRounds = rounds.reindeer + rounds.elves;
    const sharedPerRound = totalRounds === 0 ? 0 : this.attributed.shared / totalRounds;
    const perRound = (kind: WorkerType, size: number): PerRound => ({
      measured:
        rounds[kind] === 0 ? 0 : this.attributed[kind] / rounds[kind] + sharedPerRound,
      floor: size + 1,
      subscriptionDesign: 6 * size + 3,
    });
    const reads = distribution(this.reads);
    const writes = distribution(this.writes);
    return {
      options: o,
      steps: this.steps,
      virtualMs,
      wallMs,
      handlerMs: counter.handlerMs,
      overheadRatio: wallMs / Math.max(counter.handlerMs, 1e-9),
      virtualSecondsPerWallSecond: virtualMs / wallMs,
      rounds,
      roundsPerVirtualMinute: virtualMs === 0 ? 0 : totalRounds / (virtualMs / 60_000),
      santaBusyShare: virtualMs === 0 ? 0 : this.busyMs / virtualMs,
      elfWaitMs: distribution(this.elfWaits),
      executions: {
        total: counter.total,
        byFunction: Object.fromEntries(
          [...counter.byFunction].sort((a, b) => b[1] - a[1]),
        ),
        attributed: { ...this.attributed },
        perRound: {
          reindeer: perRound("reindeer", o.reindeer),
          elves: perRound("elves", o.group),
        },
        failed: this.failed,
        injected: this.injected,
        failures: [...this.failures],
        unexpected: { count: this.unexpected, first: [...this.unexpectedFailures] },
      },
      transactions: {
        count: reads.count,
        documentsRead: { ...reads, maxBy: this.maxReadBy },
        documentsWritten: { ...writes, maxBy: this.maxWriteBy },
        functionsScheduled: { max: this.maxScheduled, maxBy: this.maxScheduledBy },
      },
      statusMaxDocumentsRead: this.statusMaxRead,
      violations: this.checker
        ? {
            count: this.checker.violationCount,
            first: this.checker.violations.slice(0, 10),
          }
        : null,
      worstLatenessMs: this.checker ? this.checker.worstLatenessMs : null,
      fewestTransitions: this.fewestTransitions(),
      stormCommands: { ...this.stormCommands },
      selfRepair: {
        failuresSeen: this.carried.failures + finalStatus.chaos.failures,
        repairs: this.carried.repairs + finalStatus.chaos.repairs,
      },
      finalStatus,
    };
  }

  /** The fewest state changes of a worker of the final North Pole, calm. */
  private fewestTransitions(): number | null {
    const { checker, calmFrom } = this;
    if (checker === null || calmFrom === null || this.lastWorkers.length === 0) {
      return null;
    }
    return Math.min(
      ...this.lastWorkers.map(
        (id) => (checker.transitions.get(id) ?? 0) - (calmFrom.get(id) ?? 0),
      ),
    );
  }
}
