/**
 * Durability checks on the scheduler itself: every actor that should have a
 * pending step has exactly one that can act (no lost actor, no duplicate), and
 * no step that can act belongs to anyone else (no orphan).
 */
import type { Backend } from "./setup";

type Pending = { name: string; args: Record<string, unknown> };

export async function checkTimers(t: Backend): Promise<string[]> {
  return await t.run(async (ctx) => {
    const problems: string[] = [];
    const np = await ctx.db.query("northPole").unique();
    if (np === null) return problems;
    const pending: Pending[] = (
      await ctx.db.system.query("_scheduled_functions").collect()
    )
      .filter((f) => f.state.kind === "pending" || f.state.kind === "inProgress")
      .map((f) => ({ name: f.name, args: f.args[0] as Record<string, unknown> }));
    const live = new Map<string, number>();
    for (const p of pending) {
      if (p.args.generation !== np.generation) continue;
      if (/finishWork/.test(p.name)) {
        if (p.args.step === np.santa.step) live.set("santa", (live.get("santa") ?? 0) + 1);
      } else if (/comeBack/.test(p.name)) {
        const w = await ctx.db.get("workers", p.args.workerId as never);
        if (w && (w as { step: number }).step === p.args.step) {
          const key = String(p.args.workerId);
          live.set(key, (live.get(key) ?? 0) + 1);
        }
      }
    }
    const busy = np.santa.activity !== "sleeping";
    const santaTimers = live.get("santa") ?? 0;
    if (busy && np.santa.armed && santaTimers !== 1) {
      problems.push(`Santa is armed with ${santaTimers} live timers`);
    }
    if ((!busy || !np.santa.armed) && santaTimers > 0) {
      problems.push(`Santa has ${santaTimers} live timers while ${np.santa.activity}, armed=${np.santa.armed}`);
    }
    const workers = await ctx.db
      .query("workers")
      .withIndex("by_state", (q) => q.eq("generation", np.generation))
      .collect();
    for (const w of workers) {
      const n = live.get(String(w._id)) ?? 0;
      const shouldHave = w.state === "vacationing" && w.armed;
      if (shouldHave && n !== 1) {
        problems.push(`${w.workerType} ${w.number} is armed with ${n} live timers`);
      }
      if (!shouldHave && n > 0) {
        problems.push(`${w.workerType} ${w.number} (${w.state}, armed=${w.armed}) has ${n} live timers`);
      }
      if (np.running && w.state === "vacationing" && !w.armed) {
        const armingPending = pending.some((p) => /armPending/.test(p.name));
        if (!armingPending) problems.push(`${w.workerType} ${w.number} vacations with no timer while running`);
      }
    }
    return problems;
  });
}
