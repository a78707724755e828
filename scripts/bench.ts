/**
 * `npm run bench`: measures the North Pole with the offline simulator
 * (scripts/simulator.ts) and prints a table; `npm run bench -- --json` prints
 * one JSON object instead. Every number is measured by this run: nothing is
 * typed in but the floors and the targets, which are formulas of the spec.
 *
 * Scenarios (all in virtual time, on convex-test with Convex's default
 * per-transaction limits enforced):
 * - defaults (9 reindeer, 10 elves, groups of 3, speeds 1500/1500) for ten
 *   virtual minutes, with seeds 1, 2 and 3, without the per-step checker:
 *   executions per round (seed 1), rounds per virtual minute, Santa's busy
 *   share, the elves' waits, and the simulator's overhead and speed (the
 *   median of the three runs);
 * - the same with the checker after every step, five virtual minutes: the
 *   overhead as `npm run simulate` runs by default;
 * - 9 reindeer with 10, 1,000 and 10,000 elves, 100 rounds each: the most
 *   documents any transaction read;
 * - 1,000 reindeer and 10,000 elves, 6 rounds: the heaviest transactions;
 * - chaos 0.2 for five virtual minutes with the checker: repairs through the
 *   workpool, counted in the executions per round.
 */
import { cpus } from "node:os";
import {
  runSimulation,
  type PerRound,
  type SimOptions,
  type SimResult,
} from "./simulator";

const USAGE = `Usage: npm run bench [-- --json]

Measures the North Pole on the offline simulator (about 40 seconds on
two cores) and prints a table, or with --json one JSON object. See the comment
at the top of scripts/bench.ts for the scenarios.`;

/** The targets of the issue: how far from the floor, how many reads. */
const TARGETS = {
  elvesPerRoundVsFloor: 2,
  reindeerPerRoundVsFloor: 1.5,
  maxDocumentsRead: 250,
  simulatorOverheadRatio: 1.5,
};

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 === 1 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

function round(x: number, digits = 2): number {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}

async function measure(
  label: string,
  options: SimOptions,
  progress: (line: string) => void,
): Promise<SimResult> {
  const t0 = performance.now();
  const r = await runSimulation(options);
  progress(`  ${label}: ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  if (r.executions.unexpected.count > 0) {
    throw new Error(`${label}: ${r.executions.unexpected.count} executions failed: ${r.executions.unexpected.first.join("; ")}`);
  }
  if ((r.violations?.count ?? 0) > 0) {
    throw new Error(`${label}: ${r.violations!.count} rule violations: ${r.violations!.first.join("; ")}`);
  }
  return r;
}

/** A kind's executions per round against its floor and its target. */
function againstFloor(p: PerRound, timesFloor: number) {
  return {
    measured: round(p.measured),
    floor: p.floor,
    subscriptionDesign: p.subscriptionDesign,
    vsFloor: round(p.measured / p.floor),
    target: `at most ${timesFloor}x the floor`,
    met: p.measured <= timesFloor * p.floor,
  };
}

export async function bench(progress: (line: string) => void) {
  const started = performance.now();
  // Warm-up: module loading and the JIT, left out of every number.
  await measure("warm-up", { minutes: 0.5, check: false }, progress);

  const defaults = [];
  for (const seed of [1, 2, 3]) {
    defaults.push(
      await measure(`defaults, seed ${seed}, 10 virtual minutes`, { seed, minutes: 10, check: false }, progress),
    );
  }
  const main = defaults[0]!;
  const checked = await measure(
    "defaults with the checker after every step, 5 virtual minutes",
    { seed: 1, minutes: 5, check: true },
    progress,
  );

  const reads: Record<string, SimResult> = {};
  for (const elves of [10, 1000, 10_000]) {
    reads[String(9 + elves)] = await measure(
      `9 reindeer, ${elves} elves, 100 rounds`,
      { reindeer: 9, elves, rounds: 100, check: false },
      progress,
    );
  }
  const scale = await measure(
    "1,000 reindeer, 10,000 elves, 6 rounds",
    { reindeer: 1000, elves: 10_000, rounds: 6, check: false, status: false },
    progress,
  );
  const chaos = await measure(
    "chaos 0.2 with the checker, 5 virtual minutes",
    { seed: 1, minutes: 5, chaos: 0.2, check: true },
    progress,
  );

  const per = main.executions.perRound;
  const maxReads = Object.fromEntries(
    Object.entries(reads).map(([n, r]) => [n, r.transactions.documentsRead.max]),
  );
  const overhead = median(defaults.map((r) => r.overheadRatio));
  const readsFlat = Math.max(...Object.values(maxReads)) <= maxReads["19"]!;
  return {
    executionsPerRound: {
      elves: againstFloor(per.elves, TARGETS.elvesPerRoundVsFloor),
      reindeer: againstFloor(per.reindeer, TARGETS.reindeerPerRoundVsFloor),
      attribution:
        "comeBack to its worker's kind; finishWork to the kind it released; the watchdog cron, repairs, the workpool component and armPending shared evenly over all rounds; the operator commands to none",
      rounds: main.rounds,
      executions: main.executions.total,
      byFunction: main.executions.byFunction,
      underChaos: {
        failureRate: chaos.options.chaos,
        elves: round(chaos.executions.perRound.elves.measured),
        reindeer: round(chaos.executions.perRound.reindeer.measured),
        executions: chaos.executions.total,
        byFunction: chaos.executions.byFunction,
        repairs: chaos.finalStatus.chaos.repairs,
        violations: chaos.violations?.count ?? null,
      },
    },
    maxDocumentsReadPerTransaction: maxReads,
    documentsPerTransaction: Object.fromEntries(
      Object.entries(reads).map(([n, r]) => [
        n,
        {
          readMean: round(r.transactions.documentsRead.mean, 1),
          readMax: r.transactions.documentsRead.max,
          readMaxBy: r.transactions.documentsRead.maxBy,
          writtenMean: round(r.transactions.documentsWritten.mean, 1),
          writtenMax: r.transactions.documentsWritten.max,
          writtenMaxBy: r.transactions.documentsWritten.maxBy,
        },
      ]),
    ),
    maxDocumentsReadTarget: {
      target: `under ${TARGETS.maxDocumentsRead} at every size, not growing with the elves`,
      met: readsFlat && Math.max(...Object.values(maxReads)) < TARGETS.maxDocumentsRead,
    },
    simulatorOverheadRatio: round(overhead),
    simulatorOverheadRatioRuns: defaults.map((r) => round(r.overheadRatio)),
    simulatorOverheadRatioWithChecker: round(checked.overheadRatio),
    simulatorOverheadTarget: {
      target: `at most ${TARGETS.simulatorOverheadRatio} (without the per-step checker)`,
      met: overhead <= TARGETS.simulatorOverheadRatio,
    },
    virtualSecondsPerWallSecond: round(median(defaults.map((r) => r.virtualSecondsPerWallSecond)), 1),
    virtualSecondsPerWallSecondWithChecker: round(checked.virtualSecondsPerWallSecond, 1),
    roundsPerVirtualMinute: round(main.roundsPerVirtualMinute, 1),
    santaBusyShare: round(main.santaBusyShare, 3),
    elfWaitMs: main.elfWaitMs,
    scale: {
      reindeer: 1000,
      elves: 10_000,
      rounds: scale.rounds,
      maxDocumentsRead: scale.transactions.documentsRead.max,
      maxDocumentsReadBy: scale.transactions.documentsRead.maxBy,
      maxDocumentsWritten: scale.transactions.documentsWritten.max,
      maxDocumentsWrittenBy: scale.transactions.documentsWritten.maxBy,
      maxFunctionsScheduled: scale.transactions.functionsScheduled.max,
      maxFunctionsScheduledBy: scale.transactions.functionsScheduled.maxBy,
      statusDocumentsRead: scale.statusMaxDocumentsRead,
      limits: { documentsRead: 32_000, documentsWritten: 16_000, functionsScheduled: 1000 },
      failedExecutions: scale.executions.failed,
    },
    environment: {
      node: process.version,
      cpus: cpus().length,
      benchSeconds: round((performance.now() - started) / 1000, 1),
    },
  };
}

export type BenchResult = Awaited<ReturnType<typeof bench>>;

function mark(met: boolean) {
  return met ? "met" : "MISSED";
}

function table(b: BenchResult): string {
  const e = b.executionsPerRound;
  const rows: [string, string, string][] = [
    ["executions per elf round", `${e.elves.measured} (floor G+1 = ${e.elves.floor}, ${e.elves.vsFloor}x; subscriptions 6G+3 = ${e.elves.subscriptionDesign})`, `${mark(e.elves.met)}: ${e.elves.target}`],
    ["executions per reindeer round", `${e.reindeer.measured} (floor R+1 = ${e.reindeer.floor}, ${e.reindeer.vsFloor}x; subscriptions 6R+3 = ${e.reindeer.subscriptionDesign})`, `${mark(e.reindeer.met)}: ${e.reindeer.target}`],
    ["  with chaos 0.2 (workpool included)", `elves ${e.underChaos.elves}, reindeer ${e.underChaos.reindeer}; ${e.underChaos.repairs} repairs, ${e.underChaos.violations} violations`, ""],
    ...Object.entries(b.maxDocumentsReadPerTransaction).map(
      ([n, max]): [string, string, string] => [
        `max documents read / transaction, ${n} workers`,
        `${max} (mean ${b.documentsPerTransaction[n]!.readMean}; written max ${b.documentsPerTransaction[n]!.writtenMax}, mean ${b.documentsPerTransaction[n]!.writtenMean})`,
        n === "19" ? `${mark(b.maxDocumentsReadTarget.met)}: ${b.maxDocumentsReadTarget.target}` : "",
      ],
    ),
    ["1,000 reindeer + 10,000 elves", `read max ${b.scale.maxDocumentsRead} (${b.scale.maxDocumentsReadBy}), written max ${b.scale.maxDocumentsWritten} (${b.scale.maxDocumentsWrittenBy}), scheduled max ${b.scale.maxFunctionsScheduled} (${b.scale.maxFunctionsScheduledBy}); sim:status read ${b.scale.statusDocumentsRead}`, "limits 32,000 / 16,000 / 1,000"],
    ["simulator overhead (wall / handlers)", `${b.simulatorOverheadRatio} (runs ${b.simulatorOverheadRatioRuns.join(", ")}); ${b.simulatorOverheadRatioWithChecker} with the checker after every step`, `${mark(b.simulatorOverheadTarget.met)}: ${b.simulatorOverheadTarget.target}`],
    ["virtual seconds per wall second", `${b.virtualSecondsPerWallSecond} (${b.virtualSecondsPerWallSecondWithChecker} with the checker)`, "defaults"],
    ["rounds per virtual minute", `${b.roundsPerVirtualMinute}`, "defaults"],
    ["Santa busy", `${(b.santaBusyShare * 100).toFixed(1)}%`, "defaults"],
    ["elf wait, ready to working", `p50 ${b.elfWaitMs.p50} ms, p99 ${b.elfWaitMs.p99} ms, max ${b.elfWaitMs.max} ms`, "defaults"],
  ];
  const w0 = Math.max(...rows.map((r) => r[0].length));
  const w1 = Math.max(...rows.map((r) => r[1].length));
  const lines = rows.map(([a, v, t]) => `${a.padEnd(w0)}  ${v.padEnd(w1)}  ${t}`.trimEnd());
  lines.push("", `node ${b.environment.node}, ${b.environment.cpus} cpus, ${b.environment.benchSeconds} s`);
  return lines.join("\n");
}

async function main(argv: string[]): Promise<number> {
  const unknown = argv.filter((a) => a !== "--json" && a !== "--help" && a !== "-h");
  if (unknown.length > 0) {
    process.stderr.write(`bench: unknown option "${unknown[0]}"\n${USAGE}\n`);
    return 2;
  }
  if (argv.includes("--help") || argv.includes("-h")) {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  const json = argv.includes("--json");
  const b = await bench((line) => {
    if (!json) process.stderr.write(`${line}\n`);
  });
  process.stdout.write(json ? `${JSON.stringify(b, null, 2)}\n` : `\n${table(b)}\n`);
  return 0;
}

process.on("SIGINT", () => process.exit(130));
process.exit(await main(process.argv.slice(2)));
