/**
 * Self-repair. Scheduled mutations run exactly once, but a step that throws
 * (a bug, an outage, chaos mode) is not retried by Convex: its actor would
 * wait forever. The watchdog cron finds every actor whose step is overdue
 * (`repairAt` past, by index), arms it (with a new step number if it had no
 * timer; an armed actor keeps its step, and whichever of its timer and its
 * re-runs runs first acts), and re-runs it through the workpool, which
 * retries with backoff and always reports back to `rerunDone`.
 *
 * Queuing a re-run records its workpool id on the actor (`rerun`) and pushes
 * the actor's `repairAt` on by RERUN_WINDOW_MS, so no later pass (nor a
 * continuation of this one) queues the same actor again while its re-run
 * waits or retries: one re-run per lost step, however long the backlog. The
 * workpool always reports on a job (`rerunDone`): one that failed every retry
 * brings `repairAt` back, found by that id, and the next pass queues it again.
 * The window is only the safety net for a report that never comes.
 */
import { v } from "convex/values";
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
  type Worker,
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
 * same actor, should the workpool never report on it. Its retries take about
 * 5.6 s (backoffs of 250 ms doubling, jittered up to 1.5x), but a backlog of
 * 10,000 lost steps takes minutes to drain at REPAIR_PARALLELISM; `rerunDone`
 * ends the window as soon as a re-run fails for good.
 */
export const RERUN_WINDOW_MS = 10 * 60_000;

/**
 * Re-runs at once: the workpool's advice is at most 20 on Convex's free plan
 * (100 on Pro), across all pools. 1,000 lost steps take about 12.6 s to drain (test/scale.test.ts).
 */
export const REPAIR_PARALLELISM = 20;

const pool = new Workpool(components.repairPool, {
  maxParallelism: REPAIR_PARALLELISM,
  retryActionsByDefault: true,
  defaultRetryBehavior: REPAIR_RETRY,
  logLevel: "WARN",
});

/** What `rerunDone` is told about the re-run it reports on (with its id). */
const vRerunContext = v.object({ generation: v.number() });

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
    const limit = REPAIR_BATCH - jobs.length;
    const found = await ctx.db
      .query("workers")
      .withIndex("by_repair", (q) =>
        q
          .eq("generation", np.generation)
          .eq("state", "vacationing")
          .lt("repairAt", cutoff),
      )
      .take(limit);
    // As many as it asked for: there may be more, past these.
    const full = found.length === limit;
    for (const w of found) {
      if (w.repairAt === undefined || (w.dueAt ?? now) >= cutoff) {
        // Never lost: a row with no `repairAt` (the range takes those too)
        // or one not due yet. Put it in its place by its due time.
        await ctx.db.patch("workers", w._id, { repairAt: w.dueAt ?? now });
        continue;
      }
      // An armed worker keeps its step: whichever of its timer and its
      // re-run runs first brings it back, and the other finds it back
      // already (comeBack checks the state). A parked one (no timer) gets a
      // new step, as any arming does.
      // Written with its re-run's id, once queued (below).
      const step = w.armed ? w.step : w.step + 1;
      jobs.push({
        target: { kind: "worker", workerId: w._id },
        step,
        name: workerName(w.workerType, w.number),
      });
    }
    if (jobs.length === 0) {
      if (full) await continueLater(ctx, np);
      return { repaired: 0 };
    }

    const workIds = await pool.enqueueActionBatch(
      ctx,
      internal.repair.rerun,
      jobs.map((j) => ({
        generation: np.generation,
        step: j.step,
        target: j.target,
      })),
      {
        onComplete: internal.repair.rerunDone,
        context: { generation: np.generation },
      },
    );
    // Each actor knows its re-run, for the report (`rerunDone`). Santa's
    // other fields were set above, in the document saved below.
    for (const [i, job] of jobs.entries()) {
      if (job.target.kind === "santa") {
        np.santa.rerun = workIds[i];
      } else {
        await ctx.db.patch("workers", job.target.workerId, {
          step: job.step,
          armed: true,
          repairAt: now + RERUN_WINDOW_MS,
          rerun: workIds[i],
        });
      }
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
    if (full) await continueLater(ctx, np);
    return { repaired: jobs.length };
  },
});

/** A full batch: there may be more, so continue at once, not at the next pass. */
async function continueLater(ctx: MutationCtx, np: NorthPole) {
  await ctx.scheduler.runAfter(0, internal.repair.watchdog, {
    generation: np.generation,
  });
}

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
 * The workpool's report on a re-run, success or not. It clears the actor's
 * `rerun`. A re-run that failed every retry leaves its actor overdue: its
 * `repairAt` comes back to now (never before its due time), so the next
 * watchdog pass queues it again. Nothing is lost, it is only later. An actor
 * that moved on since has no `rerun` of this id, and is left alone.
 */
export const rerunDone = internalMutation({
  args: vOnCompleteArgs(vRerunContext),
  returns: v.null(),
  handler: async (ctx, { workId, context, result }) => {
    const np = await loadNorthPole(ctx);
    if (np === null || np.generation !== context.generation) return null;
    const now = Date.now();
    const failed = result.kind !== "success";
    const reopenAt = (dueAt: number | undefined) =>
      Math.max(now - GRACE_MS, dueAt ?? 0);
    let waiting = false;
    const santaReported = np.santa.rerun === workId;
    if (santaReported) {
      np.santa.rerun = undefined;
      waiting = kindOf(np.santa.activity) !== null;
      if (failed && waiting) np.santa.repairAt = reopenAt(np.santa.dueAt);
    } else {
      const w: Worker | null = await ctx.db
        .query("workers")
        .withIndex("by_rerun", (q) => q.eq("rerun", workId))
        .first();
      if (w !== null) {
        waiting = w.state === "vacationing";
        await ctx.db.patch("workers", w._id, {
          rerun: undefined,
          ...(failed && waiting ? { repairAt: reopenAt(w.dueAt) } : {}),
        });
      }
    }
    if (!failed) {
      // The North Pole document changed only if Santa's re-run reported:
      // leave it untouched otherwise, so as not to conflict with the steps.
      if (santaReported) await saveNorthPole(ctx, np);
      return null;
    }
    await appendEvent(
      ctx,
      np,
      "repair",
      [
        `A re-run step ended ${result.kind}${result.kind === "failed" ? `: ${result.error}` : ""}${waiting ? "; the watchdog will re-arm it" : ""}`,
      ],
      now,
    );
    await saveNorthPole(ctx, np);
    return null;
  },
});
