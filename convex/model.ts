/**
 * Database helpers shared by the actors and the commands. A step loads the
 * North Pole once (`loadNorthPole`), changes the copy in memory, and writes it
 * once (`saveNorthPole`).
 */
import type { Doc, Id } from "./_generated/dataModel";
import type { MutationCtx, QueryCtx } from "./_generated/server";
import { internal } from "./_generated/api";
import type { WorkerState, WorkerType } from "./rules";

export type NorthPole = Doc<"northPole">;
export type Worker = Doc<"workers">;

/** How many timers one transaction arms at the most (Convex allows 1,000). */
export const ARM_BATCH = 500;
/** How many workers one seeding or purging transaction writes at the most. */
export const SEED_BATCH = 2000;
/** Events kept in the log by default. */
export const DEFAULT_LOG_RETENTION = 500;

export async function loadNorthPole(
  ctx: QueryCtx,
): Promise<NorthPole | null> {
  return await ctx.db.query("northPole").unique();
}

export async function saveNorthPole(ctx: MutationCtx, np: NorthPole) {
  const { _id, _creationTime, ...fields } = np;
  void _creationTime;
  await ctx.db.replace("northPole", _id, fields);
}

/** Moves `n` workers of a type from one state to another in the counters. */
export function move(
  np: NorthPole,
  type: WorkerType,
  from: WorkerState,
  to: WorkerState,
  n = 1,
) {
  np.counts[type][from] -= n;
  np.counts[type][to] += n;
}

/**
 * Arms a vacationing worker's timer: a new step (fencing any older timer) and
 * a scheduled `workers.comeBack` at its due time (now, if it is past).
 */
export async function armWorker(
  ctx: MutationCtx,
  np: NorthPole,
  worker: Pick<Worker, "_id" | "step" | "dueAt">,
  now: number,
) {
  const step = worker.step + 1;
  const delay = Math.max(0, (worker.dueAt ?? now) - now);
  await ctx.scheduler.runAfter(delay, internal.workers.comeBack, {
    generation: np.generation,
    workerId: worker._id,
    step,
  });
  await ctx.db.patch("workers", worker._id, {
    step,
    armed: true,
    repairAt: now + delay,
  });
}

/**
 * Arms up to `budget` vacationers that have no timer (after a large release,
 * or when a stopped North Pole starts again). Returns how many it armed; when
 * that is the whole budget there may be more, and the caller continues.
 */
export async function armUnarmed(
  ctx: MutationCtx,
  np: NorthPole,
  now: number,
  budget: number,
): Promise<number> {
  const unarmed = await ctx.db
    .query("workers")
    .withIndex("by_due", (q) =>
      q
        .eq("generation", np.generation)
        .eq("state", "vacationing")
        .eq("armed", false),
    )
    .take(budget);
  for (const w of unarmed) {
    await armWorker(ctx, np, w, now);
  }
  if (unarmed.length === budget) {
    await ctx.scheduler.runAfter(0, internal.workers.armPending, {
      generation: np.generation,
    });
  }
  return unarmed.length;
}

/**
 * Appends an event to the bounded log and prints its lines to the function
 * logs. Deletes the events that fall out of the retention window.
 */
export async function appendEvent(
  ctx: MutationCtx,
  np: NorthPole,
  kind: Doc<"events">["kind"],
  lines: string[],
  now: number,
) {
  for (const line of lines) console.log(line);
  const seq = np.nextEventSeq;
  np.nextEventSeq = seq + 1;
  await ctx.db.insert("events", {
    seq,
    at: now,
    generation: np.generation,
    kind,
    lines,
  });
  // Normally exactly one row falls out; a few more if the retention shrank.
  const expired = await ctx.db
    .query("events")
    .withIndex("by_seq", (q) => q.lte("seq", seq - np.logRetention))
    .take(8);
  for (const e of expired) await ctx.db.delete("events", e._id);
}

export function workerName(type: WorkerType, number: number): string {
  return type === "reindeer" ? `Reindeer ${number}` : `Elf ${number}`;
}

export type { Id };
