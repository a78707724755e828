/**
 * The reindeer and the elves. A worker's only timer is the end of its
 * vacation (`comeBack`), fenced by the worker's `step`. Its other transitions
 * are made by Santa (santa.ts), atomically for the whole group.
 */
import { v } from "convex/values";
import { internalMutation } from "./_generated/server";
import { chaosStrikes } from "./rules";
import {
  ARM_BATCH,
  armUnarmed,
  loadNorthPole,
  move,
  saveNorthPole,
  workerName,
} from "./model";
import { dispatchIfReady } from "./santa";
import { vStepResult, type StepResult } from "./validators";

/** A worker's vacation timer: it comes back and is ready. */
export const comeBack = internalMutation({
  args: {
    generation: v.number(),
    workerId: v.id("workers"),
    step: v.number(),
  },
  returns: vStepResult,
  handler: async (ctx, { generation, workerId, step }): Promise<StepResult> => {
    const np = await loadNorthPole(ctx);
    if (np === null || np.generation !== generation) {
      return { kind: "stale", reason: "an older North Pole" };
    }
    const w = await ctx.db.get("workers", workerId);
    if (w === null || w.step !== step || w.state !== "vacationing" || !w.armed) {
      console.log(`stale step ${step} of worker ${workerId}`);
      return { kind: "stale", reason: "the worker's timer was re-armed" };
    }
    if (!np.running) {
      // Stopped: the worker stays on vacation until the next start.
      await ctx.db.patch("workers", w._id, { armed: false });
      return { kind: "parked" };
    }
    if (chaosStrikes(np.failureRate, Math.random)) {
      throw new Error(
        `chaos: ${workerName(w.workerType, w.number)}'s step ${step} failed on purpose`,
      );
    }
    const now = Date.now();
    await ctx.db.patch("workers", w._id, {
      state: "ready",
      since: now,
      armed: false,
      dueAt: undefined,
      repairAt: undefined,
    });
    move(np, w.workerType, "vacationing", "ready");
    await dispatchIfReady(ctx, np, now);
    await saveNorthPole(ctx, np);
    return { kind: "done" };
  },
});

/** Arms the timers that a large release or a start could not arm at once. */
export const armPending = internalMutation({
  args: { generation: v.number() },
  returns: v.object({ armed: v.number() }),
  handler: async (ctx, { generation }) => {
    const np = await loadNorthPole(ctx);
    if (np === null || np.generation !== generation || !np.running) {
      return { armed: 0 };
    }
    return { armed: await armUnarmed(ctx, np, Date.now(), ARM_BATCH) };
  },
});
