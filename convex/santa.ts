/**
 * Santa. He has one timer, the end of his work with a group (`finishWork`),
 * fenced by `santa.step`. He is dispatched inline, in the transaction where a
 * group becomes ready (a worker's return, the end of his previous work, or a
 * start): never by polling.
 */
import { v } from "convex/values";
import { internal } from "./_generated/api";
import { internalMutation, type MutationCtx } from "./_generated/server";
import {
  activityFor,
  chaosStrikes,
  chooseGroup,
  dispatchLines,
  drawDelay,
  groupSize,
  kindOf,
  releaseLine,
  type WorkerState,
  type WorkerType,
} from "./rules";
import {
  ARM_BATCH,
  appendEvent,
  loadNorthPole,
  move,
  saveNorthPole,
  type NorthPole,
} from "./model";
import { vStepResult, type StepResult } from "./validators";

/** The first `n` workers of a kind in a state, longest there first. */
async function firstInState(
  ctx: MutationCtx,
  np: NorthPole,
  kind: WorkerType,
  state: WorkerState,
  n: number,
) {
  return await ctx.db
    .query("workers")
    .withIndex("by_state", (q) =>
      q
        .eq("generation", np.generation)
        .eq("workerType", kind)
        .eq("state", state),
    )
    .take(n);
}

/**
 * If Santa is free and a group is ready, takes it: sets its members working
 * (the longest-waiting first) and arms Santa's work timer. Changes `np` in
 * memory; the caller saves it.
 */
export async function dispatchIfReady(
  ctx: MutationCtx,
  np: NorthPole,
  now: number,
): Promise<boolean> {
  if (!np.running) return false;
  const ready = {
    reindeer: np.counts.reindeer.ready,
    elves: np.counts.elves.ready,
  };
  const kind = chooseGroup(np.santa.activity, ready, np.population);
  if (kind === null) return false;
  const size = groupSize(kind, np.population);
  const members = await firstInState(ctx, np, kind, "ready", size);
  if (members.length < size) {
    // The counters and the table disagree: trust the table, never dispatch
    // a short group, and say so loudly.
    console.error(
      `counter drift: ${ready[kind]} ${kind} counted ready, ${members.length} found`,
    );
    np.counts[kind].ready = members.length;
    return false;
  }
  for (const w of members) {
    await ctx.db.patch("workers", w._id, { state: "working", since: now });
  }
  move(np, kind, "ready", "working", size);
  const workMs = drawDelay(np.speeds.maxWorkMs, Math.random);
  const step = np.santa.step + 1;
  np.santa = {
    activity: activityFor(kind),
    step,
    dueAt: now + workMs,
    armed: true,
    repairAt: now + workMs,
    since: now,
    group: members.map((w) => w.number),
  };
  await ctx.scheduler.runAfter(workMs, internal.santa.finishWork, {
    generation: np.generation,
    step,
  });
  await appendEvent(
    ctx,
    np,
    "dispatch",
    dispatchLines(kind, np.santa.group),
    now,
  );
  return true;
}

/**
 * Ends Santa's work: the whole group goes on vacation atomically (rule 4/5),
 * each member with a timer of its own. Timers past `ARM_BATCH` are armed by a
 * follow-up transaction; the state change itself is never split.
 */
export async function release(ctx: MutationCtx, np: NorthPole, now: number) {
  const kind = kindOf(np.santa.activity);
  if (kind === null) return;
  const size = groupSize(kind, np.population);
  const members = await firstInState(ctx, np, kind, "working", size);
  let armed = 0;
  for (const w of members) {
    const dueAt = now + drawDelay(np.speeds.maxVacationMs, Math.random);
    const arm = armed < ARM_BATCH;
    // A new vacation, a new step, armed now or by armPending (which takes
    // one more): nothing aimed at an earlier vacation can match it.
    const step = w.step + 1;
    await ctx.db.patch("workers", w._id, {
      state: "vacationing",
      since: now,
      dueAt,
      step,
      armed: arm,
      repairAt: dueAt,
    });
    if (arm) {
      await ctx.scheduler.runAfter(dueAt - now, internal.workers.comeBack, {
        generation: np.generation,
        workerId: w._id,
        step,
      });
      armed++;
    }
  }
  if (members.length > armed) {
    await ctx.scheduler.runAfter(0, internal.workers.armPending, {
      generation: np.generation,
    });
  }
  move(np, kind, "working", "vacationing", members.length);
  np.rounds[kind] += 1;
  np.santa = {
    activity: "sleeping",
    step: np.santa.step + 1,
    armed: false,
    since: now,
    group: [],
  };
  await appendEvent(ctx, np, "release", [releaseLine(kind, members.length)], now);
}

/** Checks a Santa step against the North Pole; a reason if it is stale. */
export function santaFence(
  np: NorthPole | null,
  generation: number,
  step: number,
): string | null {
  if (np === null) return "no North Pole";
  if (np.generation !== generation) return "an older North Pole";
  if (np.santa.step !== step) return "Santa's timer was re-armed";
  if (kindOf(np.santa.activity) === null) return "Santa is not working";
  return null;
}

/** Santa's work timer: the end of a delivery or a meeting. */
export const finishWork = internalMutation({
  args: { generation: v.number(), step: v.number() },
  returns: vStepResult,
  handler: async (ctx, { generation, step }): Promise<StepResult> => {
    const np = await loadNorthPole(ctx);
    const reason = santaFence(np, generation, step);
    if (reason !== null || np === null) {
      console.log(`stale Santa step ${generation}/${step}: ${reason}`);
      return { kind: "stale", reason: reason ?? "no North Pole" };
    }
    if (!np.running) {
      // Stopped: Santa keeps working until the next start lets him finish.
      np.santa.armed = false;
      await saveNorthPole(ctx, np);
      return { kind: "parked" };
    }
    if (chaosStrikes(np.failureRate, Math.random)) {
      throw new Error(`chaos: Santa's step ${step} failed on purpose`);
    }
    const now = Date.now();
    await release(ctx, np, now);
    await dispatchIfReady(ctx, np, now);
    await saveNorthPole(ctx, np);
    return { kind: "done" };
  },
});
