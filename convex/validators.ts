/** Validators shared by the schema and the functions, in one place. */
import { v, type Infer } from "convex/values";
import { vWorkId } from "@convex-dev/workpool";

export const vWorkerType = v.union(v.literal("reindeer"), v.literal("elves"));
export const vWorkerState = v.union(
  v.literal("ready"),
  v.literal("working"),
  v.literal("vacationing"),
);
export const vSantaActivity = v.union(
  v.literal("sleeping"),
  v.literal("delivering"),
  v.literal("meeting"),
);

const vStateCounts = v.object({
  ready: v.number(),
  working: v.number(),
  vacationing: v.number(),
});
export const vCounts = v.object({ reindeer: vStateCounts, elves: vStateCounts });

export const vPopulation = v.object({
  reindeer: v.number(),
  elves: v.number(),
  elfGroupSize: v.number(),
});

export const vSpeeds = v.object({
  maxWorkMs: v.number(),
  maxVacationMs: v.number(),
});

/**
 * Santa, the one actor whose state lives inside the North Pole document. His
 * only timer is the end of his work; `step` fences it (see santa.ts).
 */
export const vSanta = v.object({
  activity: vSantaActivity,
  /** Incremented whenever Santa's timer is (re)armed; a timer carries it. */
  step: v.number(),
  /** When the current work ends (busy only). */
  dueAt: v.optional(v.number()),
  /** A timer is pending for `step` (false once it fired while stopped). */
  armed: v.boolean(),
  /**
   * Busy only: after this (and the watchdog's grace) Santa's step counts as
   * lost. His due time, pushed past the retry window of a re-run once the
   * watchdog queues one (repair.ts).
   */
  repairAt: v.optional(v.number()),
  /** The workpool id of the re-run queued for Santa, until it reports. */
  rerun: v.optional(vWorkId),
  /** When Santa started his current activity. */
  since: v.number(),
  /** Numbers of the workers in the current group, in dispatch order. */
  group: v.array(v.number()),
});

export const vStats = v.object({
  /** Failed steps seen: lost steps the watchdog found, failed repair tries. */
  failures: v.number(),
  /** Steps the watchdog re-armed. */
  repairs: v.number(),
});

export const vStepResult = v.union(
  v.object({ kind: v.literal("done") }),
  v.object({ kind: v.literal("parked") }),
  v.object({ kind: v.literal("stale"), reason: v.string() }),
);
export type StepResult = Infer<typeof vStepResult>;

/** Who a repair re-runs. */
export const vStepTarget = v.union(
  v.object({ kind: v.literal("worker"), workerId: v.id("workers") }),
  v.object({ kind: v.literal("santa") }),
);
export type StepTarget = Infer<typeof vStepTarget>;
