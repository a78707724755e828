/**
 * Self-repair. Scheduled mutations run exactly once, but a step that throws
 * (a bug, an outage, chaos mode) is not retried by Convex: its actor would
 * wait forever. The watchdog cron finds every actor whose step is overdue,
 * arms it (with a new step number if it had no timer; an armed actor keeps
 * its step, and whichever of its timer and its re-runs runs first acts), and
 * re-runs it through the workpool, which retries with backoff and always
 * reports back to `rerunDone`.
 */
import { v } from "convex/values";
import { Workpool, vOnCompleteValidator } from "@convex-dev/workpool";
import { components, internal } from "./_generated/api";
import { internalAction, internalMutation } from "./_generated/server";
import { kindOf } from "./rules";
import {
  appendEvent,
  loadNorthPole,
  saveNorthPole,
  workerName,
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

const pool = new Workpool(components.repairPool, {
  maxParallelism: 10,
  retryActionsByDefault: true,
  defaultRetryBehavior: REPAIR_RETRY,
  logLevel: "WARN",
});

/**
 * Where a continuation of the watchdog resumes. A repaired worker keeps its
 * (past) due time until its re-run brings it back, so a continuation that
 * started from the beginning again would find the same workers, whose re-runs
 * are still queued, and never get past them.
 */
const vResumeAfter = v.object({ armed: v.boolean(), dueAt: v.number() });

/** The watchdog: finds lost steps and re-runs them. */
export const watchdog = internalMutation({
  args: { after: v.optional(vResumeAfter) },
  returns: v.object({ repaired: v.number() }),
  handler: async (ctx, { after }) => {
    const np = await loadNorthPole(ctx);
    if (np === null || !np.running) return { repaired: 0 };
    const now = Date.now();
    const cutoff = now - GRACE_MS;
    const jobs: { target: StepTarget; step: number; name: string }[] = [];

    if (
      after === undefined &&
      kindOf(np.santa.activity) !== null &&
      (np.santa.dueAt ?? 0) < cutoff
    ) {
      // Armed: the re-run keeps the step (see the workers below).
      if (!np.santa.armed) {
        np.santa.step += 1;
        np.santa.armed = true;
      }
      jobs.push({
        target: { kind: "santa" },
        step: np.santa.step,
        name: "Santa",
      });
    }
    const lost: Worker[] = [];
    let resume: typeof after;
    for (const armed of [true, false]) {
      // A continuation past the armed workers does not go back to them.
      if (after !== undefined && after.armed === false && armed) continue;
      const from = after?.armed === armed ? after.dueAt : undefined;
      const found = await ctx.db
        .query("workers")
        .withIndex("by_due", (q) => {
          const range = q
            .eq("generation", np.generation)
            .eq("state", "vacationing")
            .eq("armed", armed);
          return (from === undefined ? range : range.gt("dueAt", from)).lt(
            "dueAt",
            cutoff,
          );
        })
        .take(REPAIR_BATCH - jobs.length - lost.length);
      lost.push(...found);
      const last = found[found.length - 1];
      if (last !== undefined) resume = { armed, dueAt: last.dueAt ?? 0 };
    }
    for (const w of lost) {
      // An armed worker keeps its step: whichever of its timer and its
      // re-runs runs first brings it back, and the others find it back
      // already (comeBack checks the state). A new step would fence out the
      // re-runs still queued in the workpool, so that with a backlog longer
      // than the watchdog's interval no re-run would ever act.
      const step = w.armed ? w.step : w.step + 1;
      if (!w.armed) {
        await ctx.db.patch("workers", w._id, { step, armed: true });
      }
      jobs.push({
        target: { kind: "worker", workerId: w._id },
        step,
        name: workerName(w.workerType, w.number),
      });
    }
    if (jobs.length === 0) return { repaired: 0 };

    await pool.enqueueActionBatch(
      ctx,
      internal.repair.rerun,
      jobs.map((j) => ({
        generation: np.generation,
        step: j.step,
        target: j.target,
      })),
      { onComplete: internal.repair.rerunDone, context: null },
    );
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
    if (jobs.length === REPAIR_BATCH && resume !== undefined) {
      // Workers due at the same instant as the last one may be left for the
      // next cron pass: always progress, at worst a pass later.
      await ctx.scheduler.runAfter(0, internal.repair.watchdog, {
        after: resume,
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
 * that failed every retry leaves its actor overdue, so the next watchdog pass
 * re-arms it again: nothing is lost, it is only later.
 */
export const rerunDone = internalMutation({
  args: vOnCompleteValidator(v.null()),
  returns: v.null(),
  handler: async (ctx, { result }) => {
    if (result.kind === "success") return null;
    const np = await loadNorthPole(ctx);
    if (np === null) return null;
    await appendEvent(
      ctx,
      np,
      "repair",
      [
        `A re-run step ended ${result.kind}${result.kind === "failed" ? `: ${result.error}` : ""}; the watchdog will re-arm it`,
      ],
      Date.now(),
    );
    await saveNorthPole(ctx, np);
    return null;
  },
});
