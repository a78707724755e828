/**
 * An independent checker of the spec's rules, run against the database after
 * every step of a test, the simulator or the benchmark. It reads the whole
 * `workers` table (fine at test sizes) and never trusts the counters.
 */
import type { Doc } from "../convex/_generated/dataModel";
import {
  checkSafety,
  checkTransition,
  chooseGroup,
  kindOf,
  type WorkerState,
} from "../convex/rules";
import type { Backend } from "./backend";

export type Snapshot = {
  now: number;
  np: Doc<"northPole"> | null;
  workers: Doc<"workers">[];
};

export async function snapshot(t: Backend): Promise<Snapshot> {
  return await t.run(async (ctx) => {
    const np = await ctx.db.query("northPole").unique();
    const workers =
      np === null
        ? []
        : await ctx.db
            .query("workers")
            .withIndex("by_state", (q) =>
              q.eq("generation", np.generation),
            )
            .collect();
    return { now: Date.now(), np, workers };
  });
}

export type CheckerOptions = {
  /**
   * A worker or Santa past its due time by more than this is stuck (the
   * watchdog interval, its grace and the workpool's retries allow for less).
   */
  stuckAfterMs?: number;
};

export class Checker {
  /** The first 50 violations, with when and where. */
  readonly violations: string[] = [];
  /** Every violation found, past the first 50 too. */
  violationCount = 0;
  /** The latest any actor was past its due time while running, ms. */
  worstLatenessMs = 0;
  /** Completed state changes per worker id. */
  readonly transitions = new Map<string, number>();
  private prev: Snapshot | null = null;
  private readonly stuckAfterMs: number;

  constructor(options: CheckerOptions = {}) {
    this.stuckAfterMs = options.stuckAfterMs ?? 30_000;
  }

  async check(t: Backend, label = ""): Promise<Snapshot> {
    const snap = await snapshot(t);
    this.checkSnapshot(snap, label);
    return snap;
  }

  checkSnapshot(snap: Snapshot, label = "") {
    const found = this.find(snap);
    this.violationCount += found.length;
    for (const v of found) {
      if (this.violations.length < 50) {
        this.violations.push(`${new Date(snap.now).toISOString()} ${label} ${v}`);
      }
    }
    this.prev = snap;
  }

  private find(snap: Snapshot): string[] {
    const { np, workers } = snap;
    if (np === null) return [];
    const out: string[] = [];
    const prev =
      this.prev?.np?.generation === np.generation ? this.prev : null;

    // Rules 3 and 6: Santa's group is whole, of one kind, and his own.
    out.push(...checkSafety(np.santa, workers, np.population));

    // The counters match the table.
    const counted: Record<string, number> = {};
    for (const w of workers) {
      const key = `${w.workerType}.${w.state}`;
      counted[key] = (counted[key] ?? 0) + 1;
    }
    for (const type of ["reindeer", "elves"] as const) {
      for (const state of ["ready", "working", "vacationing"] as const) {
        const actual = counted[`${type}.${state}`] ?? 0;
        if (np.counts[type][state] !== actual) {
          out.push(
            `counter ${type}.${state} is ${np.counts[type][state]}, table has ${actual}`,
          );
        }
      }
    }

    // Liveness: a running Santa never sleeps while a group is ready.
    const ready = {
      reindeer: counted["reindeer.ready"] ?? 0,
      elves: counted["elves.ready"] ?? 0,
    };
    if (np.running && chooseGroup(np.santa.activity, ready, np.population)) {
      out.push(`Santa sleeps while a group is ready (${JSON.stringify(ready)})`);
    }

    if (prev?.np) {
      const before = new Map(prev.workers.map((w) => [w._id as string, w]));
      // Santa took a new group since the previous snapshot.
      const newGroup =
        kindOf(np.santa.activity) !== null &&
        np.santa.since > prev.now - 1 &&
        np.santa.step !== prev.np.santa.step;
      // Rule 8: no worker skips a state.
      for (const w of workers) {
        const b = before.get(w._id);
        if (!b) continue;
        // A worker whose return completes a group is dispatched in the same
        // transaction: it passes through "ready" between two snapshots.
        const returnedIntoGroup =
          b.state === "vacationing" &&
          w.state === "working" &&
          newGroup &&
          kindOf(np.santa.activity) === w.workerType &&
          np.santa.group.includes(w.number);
        const bad = returnedIntoGroup
          ? null
          : checkTransition(b.state as WorkerState, w.state);
        if (bad) out.push(`${w.workerType} ${w.number} ${bad}`);
        if (b.state !== w.state) {
          this.transitions.set(w._id, (this.transitions.get(w._id) ?? 0) + 1);
        }
      }
      // Rule 3: with every reindeer ready, Santa does not take elves.
      const prevReindeerReady = prev.workers.filter(
        (w) => w.workerType === "reindeer" && w.state === "ready",
      ).length;
      if (
        prev.np.santa.activity === "sleeping" &&
        np.santa.activity === "meeting" &&
        prevReindeerReady === np.population.reindeer
      ) {
        out.push("Santa took elves while every reindeer was ready");
      }
      // Fairness: a new group of elves is made of the longest waiting.
      if (np.santa.activity === "meeting" && newGroup) {
        const members = new Set(np.santa.group);
        const waitedSince = (n: number) =>
          before.get(
            workers.find((w) => w.workerType === "elves" && w.number === n)
              ?._id ?? "",
          );
        let latestMember = -Infinity;
        for (const n of members) {
          const b = waitedSince(n);
          const since = b && b.state === "ready" ? b.since : snap.now;
          latestMember = Math.max(latestMember, since);
        }
        for (const w of workers) {
          if (w.workerType === "elves" && w.state === "ready" && w.since < latestMember) {
            out.push(
              `Elf ${w.number} (ready since ${w.since}) was passed over for an elf ready since ${latestMember}`,
            );
          }
        }
      }
    }

    // Nothing stuck: every running actor moves within its due time + slack.
    if (np.running) {
      let lateness = 0;
      for (const w of workers) {
        if (w.state === "vacationing" && w.dueAt !== undefined) {
          lateness = Math.max(
            lateness,
            snap.now - Math.max(w.dueAt, np.runningSince),
          );
        }
      }
      if (kindOf(np.santa.activity) !== null && np.santa.dueAt !== undefined) {
        lateness = Math.max(
          lateness,
          snap.now - Math.max(np.santa.dueAt, np.runningSince),
        );
      }
      this.worstLatenessMs = Math.max(this.worstLatenessMs, lateness);
      if (lateness > this.stuckAfterMs) {
        out.push(`an actor is ${lateness} ms past its due time`);
      }
    }
    return out;
  }

  /** After a stop or start the next snapshot starts a new comparison. */
  forget() {
    this.prev = null;
  }
}
