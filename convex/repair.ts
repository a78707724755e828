/**
 * Self-repair. Scheduled mutations run exactly once, but a step that throws
 * (a bug, an outage, chaos mode) is not retried by Convex: its actor would
 * wait forever. The watchdog cron finds every actor whose step is overdue
 * (`repairAt` past, by index), arms it (with a new step number if it had no
 * timer; an armed actor keeps its step, and whichever of its timer and its
 * re-runs runs first acts), and re-runs it through the workpool, which
 * retries with backoff and always reports back to `rerunDone`.
 *
 * Queuing a re-run pushes the actor's `repairAt` past the re-run's retry
 * window, so a later pass (or a continuation of this one) does not queue the
 * same actor again while its re-run waits or retries: one re-run per lost
 * step, however long the backlog. A re-run that fails every retry brings
 * `repairAt` back, and the next pass queues it again.
 */
import { v, type Infer } from "convex/values";
import { Workpool, vOnCompleteArgs } from "@convex-dev/workpool";
import { components, internal } from "./_generated/api";
import {
  internalAction,
  internalMutation,
  type MutationCtx,
} from "./_generated/server";
import { kindOf } from "./rules";
import {
  appendEvent,
  loadNorthPole,
  saveNorthPole,
  workerName,
  type NorthPole,
} from "./model";
import {
  vStepResult,
  vStepTarget,
  type StepResult,
  type StepTarget,
} from "./validators";

/** How late a step may be before the watchdog calls it lost. */
export const GRACE_MS = 2000;
/** How often the watchdog runs (crons.ts). */
export const WATCHDOG_INTERVAL_SECONDS = 5;
/** Steps one watchdog pass re-arms at the most; it continues if there are more. */
export const REPAIR_BATCH = 100;
/** Retries of a re-run step. */
export const REPAIR_RETRY = { maxAttempts: 5, initialBackoffMs: 250, base: 2 };
/**
 * How long a queued re-run has before the watchdog may queue another for the
 * same actor. Its retries take about 5.6 s at the most (backoffs of 250 ms
 * doubling, jittered up to 1.5x); `rerunDone` ends the window early when the
 * re-run fails for good, so this only matters if a report never comes.
 */
export const RERUN_WINDOW_MS = 20_000;

/**
 * Re-runs at once: the workpool's advice is at most 20 on Convex's free plan
 * (100 on Pro), across all pools. 1,000 lost steps take about 12 s to drain (test/scale.test.ts).
 */
export const REPAIR_PARALLELISM = 20;

const pool = new Workpool(components.repairPool, {
  maxParallelism: REPAIR_PARALLELISM,
  retryActionsByDefault: true,
  defaultRetryBehavior: REPAIR_RETRY,
  logLevel: "WARN",
});

/** What `rerunDone` is told about the re-run it reports on. */
const vRerunContext = v.object({
  generation: v.number(),
  step: v.number(),
  target: vStepTarget,
});

/** The watchdog: finds lost steps and re-runs them. */
export const watchdog = internalMutation({
  args: {
    /** Set on a continuation: the generation of the pass it continues. */
    generation: v.optional(v.number()),
  },
  returns: v.object({ repaired: v.number() }),
  handler: async (ctx, { generation }) => {
    const np = await loadNorthPole(ctx);
    if (np === null || !np.running) return { repaired: 0 };
    if (generation !== undefined && generation !== np.generation) {
      console.log(`stale watchdog continuation of generation ${generation}`);
      return { repaired: 0 };
    }
    const now = Date.now();
    const cutoff = now - GRACE_MS;
    const jobs: { target: StepTarget; step: number; name: string }[] = [];

    if (
      kindOf(np.santa.activity) !== null &&
      (np.santa.repairAt ?? np.santa.dueAt ?? 0) < cutoff
    ) {
      // Armed: the re-run keeps the step (see the workers below).
      if (!np.santa.armed) {
        np.santa.step += 1;
        np.santa.armed = true;
      }
      np.santa.repairAt = now + RERUN_WINDOW_MS;
      jobs.push({
        target: { kind: "santa" },
        step: np.santa.step,
        name: "Santa",
      });
    }
    // Those queued just now have a later `repairAt`: a continuation's query
    // starts past them by itself.
    const lost = await ctx.db
      .query("workers")
      .withIndex("by_repair", (q) =>
        q
          .eq("generation", np.generation)
          .eq("state", "vacationing")
          .lt("repairAt", cutoff),
      )
      .take(REPAIR_BATCH - jobs.length);
    for (const w of lost) {
      // An armed worker keeps its step: whichever of its timer and its
      // re-run runs first brings it back, and the other finds it back
      // already (comeBack checks the state). A parked one (no timer) gets a
      // new step, as any arming does.
      const step = w.armed ? w.step : w.step + 1;
      await ctx.db.patch("workers", w._id, {
        step,
        armed: true,
        repairAt: now + RERUN_WINDOW_MS,
      });
      jobs.push({
        target: { kind: "worker", workerId: w._id },
        step,
        name: workerName(w.workerType, w.number),
      });
    }
    if (jobs.length === 0) return { repaired: 0 };

    for (const job of jobs) {
      await pool.enqueueAction(
        ctx,
        internal.repair.rerun,
        { generation: np.generation, step: job.step, target: job.target },
        {
          onComplete: internal.repair.rerunDone,
          context: {
            generation: np.generation,
            step: job.step,
            target: job.target,
          },
        },
      );
    }
    np.stats.failures += jobs.length;
    np.stats.repairs += jobs.length;
    const names = jobs.slice(0, 10).map((j) => j.name);
    if (jobs.length > names.length) names.push(`${jobs.length - 10} more`);
    await appendEvent(
      ctx,
      np,
      "repair",
      [`Watchdog re-armed ${jobs.length} lost step(s): ${names.join(", ")}`],
      now,
    );
    await saveNorthPole(ctx, np);
    if (jobs.length === REPAIR_BATCH) {
      // There may be more: continue at once rather than at the next pass.
      await ctx.scheduler.runAfter(0, internal.repair.watchdog, {
        generation: np.generation,
      });
    }
    return { repaired: jobs.length };
  },
});

/**
 * Re-runs one step. An action, because the workpool retries actions: when the
 * step's transaction fails again, the failure is noted and rethrown so that
 * the workpool tries again after its backoff.
 */
export const rerun = internalAction({
  args: { generation: v.number(), step: v.number(), target: vStepTarget },
  returns: vStepResult,
  handler: async (ctx, { generation, step, target }): Promise<StepResult> => {
    try {
      if (target.kind === "santa") {
        return await ctx.runMutation(internal.santa.finishWork, {
          generation,
          step,
        });
      }
      return await ctx.runMutation(internal.workers.comeBack, {
        generation,
        step,
        workerId: target.workerId,
      });
    } catch (error) {
      await ctx.runMutation(internal.repair.noteFailure, { generation });
      throw error;
    }
  },
});

/** Counts a failed attempt of a re-run step. */
export const noteFailure = internalMutation({
  args: { generation: v.number() },
  returns: v.null(),
  handler: async (ctx, { generation }) => {
    const np = await loadNorthPole(ctx);
    if (np === null || np.generation !== generation) return null;
    np.stats.failures += 1;
    await saveNorthPole(ctx, np);
    return null;
  },
});

/**
 * The workpool's report on a re-run. Success needs nothing more. A re-run
 * that failed every retry leaves its actor overdue: its `repairAt` comes back
 * to now, so the next watchdog pass queues it again. Nothing is lost, it is
 * only later.
 */
export const rerunDone = internalMutation({
  args: vOnCompleteArgs(vRerunContext),
  returns: v.null(),
  handler: async (ctx, { context, result }) => {
    if (result.kind === "success") return null;
    const np = await loadNorthPole(ctx);
    if (np === null || np.generation !== context.generation) return null;
    const now = Date.now();
    await reopenRepair(ctx, np, context, now - GRACE_MS);
    await appendEvent(
      ctx,
      np,
      "repair",
      [
        `A re-run step ended ${result.kind}${result.kind === "failed" ? `: ${result.error}` : ""}; the watchdog will re-arm it`,
      ],
      now,
    );
    await saveNorthPole(ctx, np);
    return null;
  },
});

/**
 * Makes an actor whose re-run gave up overdue again, if it still waits on
 * that very step (one that moved on has a later due time of its own).
 */
async function reopenRepair(
  ctx: MutationCtx,
  np: NorthPole,
  { target, step }: Infer<typeof vRerunContext>,
  repairAt: number,
) {
  if (target.kind === "santa") {
    if (kindOf(np.santa.activity) !== null && np.santa.step === step) {
      np.santa.repairAt = repairAt;
    }
    return;
  }
  const w = await ctx.db.get("workers", target.workerId);
  if (
    w !== null &&
    w.generation === np.generation &&
    w.state === "vacationing" &&
    w.step === step
  ) {
    await ctx.db.patch("workers", w._id, { repairAt });
  }
}
