/**
 * The offline simulator (scripts/simulator.ts) and the pure parts of its CLI
 * (scripts/simulate-cli.ts): the same seed gives the same run, event for
 * event; what it measures agrees with the database; bad flags are refused.
 */
import { afterEach, describe, expect, test, vi } from "vitest";
import {
  formatElapsed,
  runSimulation,
  type LogLine,
  type SimOptions,
  type SimResult,
} from "../scripts/simulator";
import { exitCode, parseFlags, summaryLines } from "../scripts/simulate-cli";

afterEach(() => {
  vi.restoreAllMocks();
});

async function record(options: SimOptions) {
  const lines: LogLine[] = [];
  const steps: number[] = [];
  const result = await runSimulation(options, {
    onStep: (info) => {
      lines.push(...info.lines);
      steps.push(info.now);
    },
  });
  return { lines, steps, result };
}

describe("runSimulation", () => {
  test("the same seed gives the same run, event for event; another seed another run", async () => {
    const realRandom = Math.random;
    const a = await record({ seed: 7, rounds: 40 });
    const b = await record({ seed: 7, rounds: 40 });
    const c = await record({ seed: 8, rounds: 40 });
    expect(a.lines.length).toBeGreaterThan(100);
    expect(b.lines).toEqual(a.lines);
    expect(b.steps).toEqual(a.steps);
    expect(b.result.executions.byFunction).toEqual(a.result.executions.byFunction);
    expect(c.lines).not.toEqual(a.lines);
    // The real clock and Math.random are back.
    expect(Math.abs(Date.now() - (performance.timeOrigin + performance.now()))).toBeLessThan(5000);
    expect(Math.random).toBe(realRandom);
  });

  test("what it reads from the lines agrees with the database; the rules hold", async () => {
    const { lines, result } = await record({ seed: 3, minutes: 2 });
    // Rounds counted from the release lines = rounds in the North Pole.
    expect(result.rounds).toEqual(result.finalStatus.rounds);
    expect(result.rounds.reindeer).toBeGreaterThan(20);
    expect(result.rounds.elves).toBeGreaterThan(50);
    // Every execution is attributed exactly once.
    const { attributed, total, byFunction } = result.executions;
    expect(attributed.reindeer + attributed.elves + attributed.shared + attributed.commands).toBe(total);
    expect(Object.values(byFunction).reduce((s, n) => s + n, 0)).toBe(total);
    // Near the floor: a comeBack per returning worker and Santa's timer.
    const per = result.executions.perRound;
    expect(per.elves.floor).toBe(4);
    expect(per.reindeer.floor).toBe(10);
    expect(per.elves.measured).toBeGreaterThanOrEqual(3.5);
    expect(per.elves.measured).toBeLessThanOrEqual(2 * per.elves.floor);
    expect(per.reindeer.measured).toBeGreaterThanOrEqual(9);
    expect(per.reindeer.measured).toBeLessThanOrEqual(1.5 * per.reindeer.floor);
    // Every elf served waited no longer than the run.
    expect(result.elfWaitMs.count).toBeGreaterThan(3 * (result.rounds.elves - 1));
    expect(result.elfWaitMs.max).toBeLessThan(result.virtualMs);
    expect(result.santaBusyShare).toBeGreaterThan(0.5);
    expect(result.santaBusyShare).toBeLessThanOrEqual(1);
    // Transactions were measured, and stayed small.
    expect(result.transactions.count).toBe(total);
    expect(result.transactions.documentsRead.max).toBeGreaterThan(0);
    expect(result.transactions.documentsRead.max).toBeLessThan(250);
    expect(result.violations).toEqual({ count: 0, first: [] });
    expect(result.executions.failed).toBe(0);
    expect(result.virtualMs).toBeGreaterThanOrEqual(120_000);
    expect(result.virtualMs).toBeLessThan(121_000);
    // The classic lines, in time order, each dispatch with its header.
    const texts = lines.map((l) => l.text);
    expect(texts).toContain("Ho! Ho! Ho! let's deliver toys");
    expect(texts).toContain("Ho! Ho! Ho! let's meet in my study");
    for (let i = 1; i < lines.length; i++) {
      expect(lines[i]!.at).toBeGreaterThanOrEqual(lines[i - 1]!.at);
    }
  });

  test("a large population seeds in batches and every elf is known", async () => {
    const { result } = await record({ reindeer: 5, elves: 2500, group: 7, rounds: 12, check: false });
    expect(result.finalStatus.population).toEqual({ reindeer: 5, elves: 2500, elfGroupSize: 7 });
    expect(result.executions.byFunction["sim:continueSeeding"]).toBe(1);
    // No comeBack was left unattributed for want of knowing its worker.
    expect(result.executions.attributed.shared).toBe(
      result.executions.byFunction["repair:watchdog"] ?? 0,
    );
    expect(result.violations).toBeNull();
    // Reads per transaction do not grow with the elves (no scans).
    expect(result.transactions.documentsRead.max).toBeLessThan(250);
  });

  test("a view can have sim:status and snapshots at every step, without being counted", async () => {
    const seen: { rounds: number; status: number; workers: number }[] = [];
    const result = await runSimulation(
      { rounds: 10, check: false, status: true, snapshots: true },
      {
        onStep: ({ rounds, status, snapshot }) => {
          seen.push({
            rounds: rounds.reindeer + rounds.elves,
            status: status === null ? -1 : status.rounds.reindeer + status.rounds.elves,
            workers: snapshot?.workers.length ?? -1,
          });
        },
      },
    );
    expect(seen.length).toBe(result.steps + 1);
    for (const s of seen) {
      expect(s.status).toBe(s.rounds);
      expect(s.workers).toBe(19);
    }
    // Looking is not the app's work: sim:status is not among the executions.
    expect(result.executions.byFunction["sim:status"]).toBeUndefined();
    expect(result.statusMaxDocumentsRead).toBe(1);
  });

  test("chaos 0.25 under a storm of commands: no rule broken, no worker lost, nothing stuck", async () => {
    const result = await runSimulation({
      seed: 31,
      minutes: 4,
      chaos: 0.25,
      storm: { meanGapMs: 3000, untilMs: 120_000 },
    });
    const commands = Object.values(result.stormCommands).reduce((a, b) => a + b, 0);
    expect(commands).toBeGreaterThan(20);
    expect(Object.keys(result.stormCommands).sort()).toEqual(["chaos", "seed", "speeds", "start", "stop"]);
    expect(result.violations).toEqual({ count: 0, first: [] });
    // Chaos really failed steps, and only chaos did.
    expect(result.executions.injected).toBeGreaterThan(50);
    expect(result.executions.failures.every((f) => f.includes("chaos: "))).toBe(true);
    expect(result.executions.unexpected).toEqual({ count: 0, first: [] });
    // A re-run action fails with the step it re-runs: more failed than injected.
    expect(result.executions.failed).toBeGreaterThan(result.executions.injected);
    expect(result.selfRepair.repairs).toBeGreaterThan(20);
    // After the storm, running with chaos on: every worker kept cycling.
    expect(result.finalStatus.running).toBe(true);
    expect(result.finalStatus.chaos.failureRate).toBe(0.25);
    expect(result.fewestTransitions).toBeGreaterThanOrEqual(3);
    // Repaired within seconds of the due time.
    expect(result.worstLatenessMs).toBeGreaterThan(0);
    expect(result.worstLatenessMs).toBeLessThan(15_000);
  });

  test("refuses bad options before anything runs", async () => {
    await expect(runSimulation({ elves: 2, group: 3 })).rejects.toThrow(
      /--elves \(2\) must be at least --group \(3\)/,
    );
    await expect(runSimulation({ rounds: 5, minutes: 1 })).rejects.toThrow(
      /give --rounds or --minutes, not both/,
    );
  });
});

describe("the simulate CLI", () => {
  test("parses the flags", () => {
    expect(
      parseFlags([
        "--reindeer", "4", "--elves=7", "--group", "2", "--rounds", "9",
        "--max-work-ms", "10", "--max-vacation-ms", "20", "--chaos", "0.1",
        "--rng-seed", "5", "--quiet", "--no-check",
      ]),
    ).toEqual({
      reindeer: 4, elves: 7, group: 2, rounds: 9, maxWorkMs: 10, maxVacationMs: 20,
      chaos: 0.1, seed: 5, quiet: true, json: false, help: false, check: false,
    });
  });

  test.each([
    [["--bogus"], /unknown option "--bogus"/],
    [["--reindeer"], /--reindeer needs a value/],
    [["--elves", "--quiet"], /--elves needs a value/],
    [["--minutes", "soon"], /--minutes must be a number, got "soon"/],
    [["--timeline", "run.txt"], /--timeline writes an SVG file: its name must end in \.svg/],
    [["--view", "--json"], /give --view or --json, not both/],
    [["--plain"], /--plain only goes with --view/],
  ])("refuses %j", (argv, message) => {
    expect(parseFlags(argv)).toMatch(message);
  });

  test("the summary says what was measured; violations make the exit status 1", async () => {
    const { result } = await record({ seed: 2, rounds: 20 });
    const text = summaryLines(result).join("\n");
    expect(text).toMatch(/rounds {14}20: \d+ of reindeer, \d+ of elves/);
    expect(text).toMatch(/executions\/round {4}elves \d+\.\d\d \(floor G\+1 = 4; client subscriptions 6G\+3 = 21\)/);
    expect(text).toMatch(/documents read mean \d+\.\d, max \d+/);
    expect(text).toMatch(/rule violations {5}0 /);
    expect(exitCode(result)).toBe(0);
    const broken: SimResult = { ...result, violations: { count: 1, first: ["x"] } };
    expect(exitCode(broken)).toBe(1);
    expect(summaryLines(broken).join("\n")).toMatch(/rule violations {5}1 /);
    const failing: SimResult = {
      ...result,
      executions: { ...result.executions, unexpected: { count: 1, first: ["santa:finishWork: Error: boom"] } },
    };
    expect(exitCode(failing)).toBe(1);
    expect(summaryLines(failing).join("\n")).toMatch(/UNEXPECTED FAILURES 1 \(not caused by chaos\):\n {4}failed: santa:finishWork: Error: boom/);
  });

  test("virtual time reads as hours, minutes, seconds and milliseconds", () => {
    expect(formatElapsed(0)).toBe("00:00:00.000");
    expect(formatElapsed(61_234)).toBe("00:01:01.234");
    expect(formatElapsed(25 * 3_600_000 + 5)).toBe("25:00:00.005");
  });
});
