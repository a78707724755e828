/**
 * The operator's commands. Every control that changes state is an internal
 * mutation: `npx convex run` and the dashboard call it with the deployment's
 * admin key; a public client cannot. The two read-only queries are public so
 * that a client view (`npm run watch`) can subscribe to them.
 */
import { ConvexError, v } from "convex/values";
import { internal } from "./_generated/api";
import {
  internalMutation,
  query,
  type MutationCtx,
} from "./_generated/server";
import {
  CHAOS_SPEC,
  DEFAULTS,
  LOG_SPEC,
  RETENTION_SPEC,
  SEED_SPEC,
  SPEEDS_SPEC,
  checkArgs,
  checkPopulation,
  describeSpec,
  emptyCounts,
  kindOf,
  type CommandSpec,
  type Population,
} from "./rules";
import {
  ARM_BATCH,
  DEFAULT_LOG_RETENTION,
  SEED_BATCH,
  appendEvent,
  armUnarmed,
  loadNorthPole,
  saveNorthPole,
  workerName,
  type NorthPole,
} from "./model";
import { dispatchIfReady } from "./santa";
import {
  vCounts,
  vPopulation,
  vSantaActivity,
  vSpeeds,
  vWorkerType,
} from "./validators";

/**
 * The commands take any object and check it themselves (`refuseBadInput`), so
 * that every refusal, an unknown field or a wrong type included, is a
 * ConvexError that says what is allowed. The allowed fields are in rules.ts.
 */
const vCommandArgs = v.any();

/**
 * Refuses bad input with a ConvexError that says what is allowed. Called
 * first in every command, before anything is read or written.
 */
function refuseBadInput(
  command: string,
  args: unknown,
  spec: CommandSpec,
  extra: (args: Record<string, unknown>) => string[] = () => [],
): asserts args is Record<string, unknown> {
  if (typeof args !== "object" || args === null || Array.isArray(args)) {
    throw new ConvexError(
      `${command} refused: the arguments must be an object. Allowed: ${describeSpec(spec)}. Nothing was changed.`,
    );
  }
  const fields = args as Record<string, unknown>;
  let problems = checkArgs(fields, spec);
  if (problems.length === 0) problems = extra(fields);
  if (problems.length > 0) {
    throw new ConvexError(
      `${command} refused: ${problems.join("; ")}. Allowed: ${describeSpec(spec)}. Nothing was changed.`,
    );
  }
}

const vOk = v.object({ ok: v.literal(true), message: v.string() });

/** Creates the North Pole document for a new generation. */
async function seedNorthPole(
  ctx: MutationCtx,
  population: Population,
  now: number,
): Promise<NorthPole> {
  const old = await loadNorthPole(ctx);
  // Where the North Pole document is gone (never made, or deleted by hand in
  // the dashboard, perhaps with every other row), steps of the old one may
  // still be scheduled, and their generation is written nowhere else. The
  // new generation then starts at the clock (ms), past any generation of
  // before, and past the rows' own where they are left.
  const newestWorker = await ctx.db
    .query("workers")
    .withIndex("by_state")
    .order("desc")
    .first();
  const newestEvent =
    old === null
      ? await ctx.db.query("events").withIndex("by_seq").order("desc").first()
      : null;
  const fields = {
    generation:
      old === null
        ? Math.max(now, (newestWorker?.generation ?? 0) + 1)
        : Math.max(old.generation, newestWorker?.generation ?? 0) + 1,
    running: false,
    runningSince: now,
    population,
    seeded: 0,
    speeds: old?.speeds ?? {
      maxWorkMs: DEFAULTS.maxWorkMs,
      maxVacationMs: DEFAULTS.maxVacationMs,
    },
    failureRate: old?.failureRate ?? DEFAULTS.failureRate,
    santa: {
      activity: "sleeping" as const,
      step: 0,
      armed: false,
      since: now,
      group: [],
    },
    counts: emptyCounts(),
    rounds: { reindeer: 0, elves: 0 },
    stats: { failures: 0, repairs: 0 },
    nextEventSeq: old?.nextEventSeq ?? (newestEvent?.seq ?? -1) + 1,
    logRetention: old?.logRetention ?? DEFAULT_LOG_RETENTION,
  };
  let id;
  if (old === null) {
    id = await ctx.db.insert("northPole", fields);
  } else {
    id = old._id;
    await ctx.db.replace("northPole", id, fields);
  }
  if (newestWorker !== null) {
    // The workers of older generations go in batches, in the background.
    await ctx.scheduler.runAfter(0, internal.sim.purge, {
      generation: fields.generation,
    });
  }
  const np = (await ctx.db.get("northPole", id))!;
  await insertWorkers(ctx, np, now);
  await appendEvent(
    ctx,
    np,
    "control",
    [
      `Seeded a fresh North Pole: ${population.reindeer} reindeer, ${population.elves} elves in groups of ${population.elfGroupSize}`,
    ],
    now,
  );
  return np;
}

/**
 * Inserts the next batch of workers of the current generation (reindeer
 * first, then elves), all ready; schedules the next batch if any remain.
 */
async function insertWorkers(ctx: MutationCtx, np: NorthPole, now: number) {
  const { reindeer, elves } = np.population;
  const total = reindeer + elves;
  const end = Math.min(total, np.seeded + SEED_BATCH);
  for (let i = np.seeded; i < end; i++) {
    const workerType = i < reindeer ? "reindeer" : "elves";
    await ctx.db.insert("workers", {
      generation: np.generation,
      workerType,
      number: i < reindeer ? i + 1 : i - reindeer + 1,
      state: "ready",
      since: now,
      step: 0,
      armed: false,
    });
    np.counts[workerType].ready += 1;
  }
  np.seeded = end;
  if (end < total) {
    await ctx.scheduler.runAfter(0, internal.sim.continueSeeding, {
      generation: np.generation,
    });
  }
}

/** Seeding continued: one more batch of workers. */
export const continueSeeding = internalMutation({
  args: { generation: v.number() },
  returns: v.null(),
  handler: async (ctx, { generation }) => {
    const np = await loadNorthPole(ctx);
    if (np === null || np.generation !== generation) return null;
    const now = Date.now();
    await insertWorkers(ctx, np, now);
    // Workers inserted while running may complete a group.
    await dispatchIfReady(ctx, np, now);
    await saveNorthPole(ctx, np);
    return null;
  },
});

/** Deletes the workers of generations older than `generation`, in batches. */
export const purge = internalMutation({
  args: { generation: v.number() },
  returns: v.object({ deleted: v.number() }),
  handler: async (ctx, { generation }) => {
    const old = await ctx.db
      .query("workers")
      .withIndex("by_state", (q) => q.lt("generation", generation))
      .take(SEED_BATCH);
    for (const w of old) await ctx.db.delete("workers", w._id);
    if (old.length === SEED_BATCH) {
      await ctx.scheduler.runAfter(0, internal.sim.purge, { generation });
    }
    return { deleted: old.length };
  },
});

/** `sim:seed`: stops whatever runs and creates a fresh North Pole. */
export const seed = internalMutation({
  args: vCommandArgs,
  returns: vOk,
  handler: async (ctx, args) => {
    refuseBadInput("sim:seed", args, SEED_SPEC, (a) =>
      checkPopulation(withSeedDefaults(a)),
    );
    const population = withSeedDefaults(args);
    const np = await seedNorthPole(ctx, population, Date.now());
    await saveNorthPole(ctx, np);
    return {
      ok: true as const,
      message: `Seeded ${population.reindeer} reindeer and ${population.elves} elves (groups of ${population.elfGroupSize}), all ready. Run sim:start to start.`,
    };
  },
});

function withSeedDefaults(args: Record<string, unknown>): Population {
  return {
    reindeer: (args.reindeer as number | undefined) ?? DEFAULTS.reindeer,
    elves: (args.elves as number | undefined) ?? DEFAULTS.elves,
    elfGroupSize:
      (args.elfGroupSize as number | undefined) ?? DEFAULTS.elfGroupSize,
  };
}

/** `sim:start`: starts or resumes; seeds the default North Pole if none. */
export const start = internalMutation({
  args: vCommandArgs,
  returns: vOk,
  handler: async (ctx, args) => {
    refuseBadInput("sim:start", args, {});
    const now = Date.now();
    let np = await loadNorthPole(ctx);
    if (np === null) {
      np = await seedNorthPole(
        ctx,
        {
          reindeer: DEFAULTS.reindeer,
          elves: DEFAULTS.elves,
          elfGroupSize: DEFAULTS.elfGroupSize,
        },
        now,
      );
    } else if (np.running) {
      return { ok: true as const, message: "Already running; nothing changed." };
    }
    np.running = true;
    np.runningSince = now;
    // Santa, if a stop caught him at work, finishes when his work was due.
    if (kindOf(np.santa.activity) !== null && !np.santa.armed) {
      const delay = Math.max(0, (np.santa.dueAt ?? now) - now);
      np.santa.step += 1;
      np.santa.armed = true;
      np.santa.repairAt = now + delay;
      await ctx.scheduler.runAfter(delay, internal.santa.finishWork, {
        generation: np.generation,
        step: np.santa.step,
      });
    }
    // Workers whose vacation ended during the stop come back now.
    await armUnarmed(ctx, np, now, ARM_BATCH);
    await appendEvent(ctx, np, "control", ["North Pole started"], now);
    await dispatchIfReady(ctx, np, now);
    await saveNorthPole(ctx, np);
    return { ok: true as const, message: "North Pole started." };
  },
});

/** `sim:stop`: no actor acts again until the next start. */
export const stop = internalMutation({
  args: vCommandArgs,
  returns: vOk,
  handler: async (ctx, args) => {
    refuseBadInput("sim:stop", args, {});
    const np = await loadNorthPole(ctx);
    if (np === null || !np.running) {
      return { ok: true as const, message: "Not running; nothing changed." };
    }
    const now = Date.now();
    np.running = false;
    np.runningSince = now;
    await appendEvent(ctx, np, "control", ["North Pole stopped"], now);
    await saveNorthPole(ctx, np);
    return {
      ok: true as const,
      message: "North Pole stopped; every worker keeps its state.",
    };
  },
});

/** `sim:setSpeeds`: retunes the random delays, from the next one drawn. */
export const setSpeeds = internalMutation({
  args: vCommandArgs,
  returns: vOk,
  handler: async (ctx, args) => {
    refuseBadInput("sim:setSpeeds", args, SPEEDS_SPEC);
    const np = await requireNorthPole(ctx);
    np.speeds = {
      maxWorkMs: (args.maxWorkMs as number | undefined) ?? np.speeds.maxWorkMs,
      maxVacationMs:
        (args.maxVacationMs as number | undefined) ?? np.speeds.maxVacationMs,
    };
    const message = `Speeds set: work up to ${np.speeds.maxWorkMs} ms, vacation up to ${np.speeds.maxVacationMs} ms`;
    await appendEvent(ctx, np, "control", [message], Date.now());
    await saveNorthPole(ctx, np);
    return { ok: true as const, message };
  },
});

/** `sim:setChaos`: makes that share of actor steps fail on purpose. */
export const setChaos = internalMutation({
  args: vCommandArgs,
  returns: vOk,
  handler: async (ctx, args) => {
    refuseBadInput("sim:setChaos", args, CHAOS_SPEC);
    const np = await requireNorthPole(ctx);
    np.failureRate = args.failureRate as number;
    const message =
      np.failureRate === 0
        ? "Chaos off"
        : `Chaos on: ${Math.round(np.failureRate * 1000) / 10}% of actor steps fail`;
    await appendEvent(ctx, np, "control", [message], Date.now());
    await saveNorthPole(ctx, np);
    return { ok: true as const, message };
  },
});

/**
 * `sim:setLogRetention`: how many events `sim:log` keeps. Older ones are
 * deleted a few at a time as new ones come in.
 */
export const setLogRetention = internalMutation({
  args: vCommandArgs,
  returns: vOk,
  handler: async (ctx, args) => {
    refuseBadInput("sim:setLogRetention", args, RETENTION_SPEC);
    const np = await requireNorthPole(ctx);
    np.logRetention = args.events as number;
    const message = `The log keeps the latest ${np.logRetention} events`;
    await appendEvent(ctx, np, "control", [message], Date.now());
    await saveNorthPole(ctx, np);
    return { ok: true as const, message };
  },
});

async function requireNorthPole(ctx: MutationCtx): Promise<NorthPole> {
  const np = await loadNorthPole(ctx);
  if (np === null) {
    throw new ConvexError(
      "There is no North Pole yet. Run `npx convex run sim:seed` or `npx convex run sim:start` first. Nothing was changed.",
    );
  }
  return np;
}

const vStateCounts = vCounts.fields.reindeer;

/** `sim:status`: one read, whatever the population. */
export const status = query({
  args: vCommandArgs,
  returns: v.union(
    v.object({ exists: v.literal(false), hint: v.string() }),
    v.object({
      exists: v.literal(true),
      running: v.boolean(),
      santa: v.string(),
      santaActivity: vSantaActivity,
      group: v.union(
        v.null(),
        v.object({
          kind: vWorkerType,
          size: v.number(),
          members: v.array(v.string()),
          since: v.number(),
          dueAt: v.union(v.number(), v.null()),
        }),
      ),
      reindeer: vStateCounts,
      elves: vStateCounts,
      rounds: v.object({ reindeer: v.number(), elves: v.number() }),
      population: vPopulation,
      seeding: v.union(v.null(), v.string()),
      speeds: vSpeeds,
      chaos: v.object({
        failureRate: v.number(),
        failures: v.number(),
        repairs: v.number(),
      }),
      generation: v.number(),
    }),
  ),
  handler: async (ctx, args) => {
    refuseBadInput("sim:status", args, {});
    const np = await loadNorthPole(ctx);
    if (np === null) {
      return {
        exists: false as const,
        hint: "No North Pole yet: run `npx convex run sim:start`.",
      };
    }
    const kind = kindOf(np.santa.activity);
    const total = np.population.reindeer + np.population.elves;
    const shown = np.santa.group.slice(0, 20);
    return {
      exists: true as const,
      running: np.running,
      santa: describeSanta(np),
      santaActivity: np.santa.activity,
      group:
        kind === null
          ? null
          : {
              kind,
              size: np.santa.group.length,
              members: [
                ...shown.map((n) => workerName(kind, n)),
                ...(np.santa.group.length > shown.length
                  ? [`... and ${np.santa.group.length - shown.length} more`]
                  : []),
              ],
              since: np.santa.since,
              dueAt: np.santa.dueAt ?? null,
            },
      reindeer: np.counts.reindeer,
      elves: np.counts.elves,
      rounds: np.rounds,
      population: np.population,
      seeding:
        np.seeded < total ? `inserted ${np.seeded} of ${total} workers` : null,
      speeds: np.speeds,
      chaos: {
        failureRate: np.failureRate,
        failures: np.stats.failures,
        repairs: np.stats.repairs,
      },
      generation: np.generation,
    };
  },
});

function describeSanta(np: NorthPole): string {
  const paused = np.running ? "" : " (stopped)";
  switch (np.santa.activity) {
    case "sleeping":
      return `sleeping${paused}`;
    case "delivering":
      return `delivering toys with ${np.santa.group.length} reindeer${paused}`;
    case "meeting":
      return `meeting ${np.santa.group.length} elves in his study${paused}`;
  }
}

/** Lines one `sim:log` answer holds at the most (Convex's arrays: 8,192). */
export const MAX_LOG_LINES = 4000;

/** `sim:log`: the latest events, newest first, as readable lines. */
export const log = query({
  args: vCommandArgs,
  returns: v.array(v.string()),
  handler: async (ctx, args) => {
    refuseBadInput("sim:log", args, LOG_SPEC);
    const limit = (args.limit as number | undefined) ?? 20;
    const events = await ctx.db
      .query("events")
      .withIndex("by_seq")
      .order("desc")
      .take(limit);
    const lines: string[] = [];
    for (const e of events) {
      if (lines.length + e.lines.length > MAX_LOG_LINES) {
        // Convex returns arrays of 8,192 elements at most, and a dispatch of
        // a large group is 53 lines: cut between events, and say so.
        lines.push(
          `... older events left out: sim:log returns ${MAX_LOG_LINES} lines at most`,
        );
        break;
      }
      const stamp = new Date(e.at).toISOString().slice(11, 23);
      for (const line of e.lines) lines.push(`${stamp} ${line}`);
    }
    return lines;
  },
});
