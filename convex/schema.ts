import { defineSchema, defineTable } from "convex/server";
import { v } from "convex/values";
import { vWorkId } from "@convex-dev/workpool";
import {
  vCounts,
  vPopulation,
  vSanta,
  vSpeeds,
  vStats,
  vWorkerState,
  vWorkerType,
} from "./validators";

export default defineSchema({
  /**
   * The North Pole: one document. Written by the operator commands (sim.ts),
   * by every actor step (workers.ts, santa.ts) and by the watchdog
   * (repair.ts). It is the point where every decision serializes: each step
   * reads it once and writes it once, so a dispatch and the counters it reads
   * are always consistent.
   */
  northPole: defineTable({
    /** Incremented by each seed; every scheduled step carries it. */
    generation: v.number(),
    running: v.boolean(),
    /** When `running` last changed. */
    runningSince: v.number(),
    population: vPopulation,
    /** Workers of this generation inserted so far (seeding is batched). */
    seeded: v.number(),
    speeds: vSpeeds,
    failureRate: v.number(),
    santa: vSanta,
    /** Workers by type and state: counters instead of scans. */
    counts: vCounts,
    /** Completed rounds of each kind. */
    rounds: v.object({ reindeer: v.number(), elves: v.number() }),
    stats: vStats,
    /** Sequence number of the next event in `events`. */
    nextEventSeq: v.number(),
    /** Events kept in `events` (older ones are deleted as new ones come). */
    logRetention: v.number(),
  }),

  /**
   * The workers. Created by `sim:seed` (sim.ts), moved ready -> working by a
   * dispatch and working -> vacationing by a release (santa.ts), vacationing
   * -> ready by their own timer (workers.ts); re-armed by the watchdog and
   * told of their re-run's end by `rerunDone` (repair.ts); deleted in batches
   * once their generation is replaced.
   */
  workers: defineTable({
    generation: v.number(),
    workerType: vWorkerType,
    /** 1-based number within its type: "Elf 3". */
    number: v.number(),
    state: vWorkerState,
    /** When the worker entered its state; for ready elves, the queue order. */
    since: v.number(),
    /** Incremented whenever the worker's timer is (re)armed; fences timers. */
    step: v.number(),
    /** Vacationing only: when the vacation ends. */
    dueAt: v.optional(v.number()),
    /** Vacationing only: a timer for `step` is pending. */
    armed: v.boolean(),
    /**
     * Vacationing only: after this (and the watchdog's grace) the worker's
     * step counts as lost. Its due time, pushed past the retry window of a
     * re-run once the watchdog queues one, so that no pass queues a second.
     */
    repairAt: v.optional(v.number()),
    /** The workpool id of the re-run queued for this worker, until it reports. */
    rerun: v.optional(vWorkId),
  })
    .index("by_state", ["generation", "workerType", "state", "since"])
    .index("by_due", ["generation", "state", "armed", "dueAt"])
    .index("by_repair", ["generation", "state", "repairAt"])
    .index("by_rerun", ["rerun"]),

  /**
   * The event log behind `sim:log`: a bounded ring. Appended by every command
   * and actor step that changes something visible (events.ts); the oldest row
   * is deleted as each new one goes in past `logRetention`.
   */
  events: defineTable({
    seq: v.number(),
    at: v.number(),
    generation: v.number(),
    kind: v.union(
      v.literal("dispatch"),
      v.literal("release"),
      v.literal("control"),
      v.literal("repair"),
    ),
    lines: v.array(v.string()),
  }).index("by_seq", ["seq"]),
});
