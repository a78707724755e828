/**
 * `npm run soak`: many random seeds times long virtual runs with chaos and a
 * storm of operator commands, on the offline simulator (scripts/simulator.ts),
 * with the independent checker (test/invariants.ts) after every step. One
 * line per seed and a total; exit status 1 on any broken rule, any failure
 * that chaos did not cause, any worker that stopped cycling, or any actor
 * stuck past the bound.
 */
import { DEFAULTS } from "../convex/rules";
import { formatElapsed, runSimulation, type SimResult } from "./simulator";
import { splitInlineValues } from "./args";

const USAGE = `Usage: npm run soak [-- options]

Runs the North Pole on the offline simulator for several seeds, each a long
virtual run with chaos mode on and, for its first half, a storm of random
operator commands (start, stop, seed, setSpeeds, setChaos at random moments),
then calm with chaos still on. The rules are checked after every step.

  --seeds N         how many seeds (default 10)
  --first-seed S    the first seed (default 1); seed k runs population k mod 4:
                    9/10/3, 4/7/2, 2/12/4, 25/40/5 (reindeer/elves/group)
  --minutes M       virtual minutes per seed (default 30)
  --chaos P         share of actor steps that fail on purpose (default 0.25)
  --storm-gap-ms MS mean virtual time between two storm commands (default 5000)
  --json            one JSON object instead of the table
  --help            this text

One line per seed: rounds, failures injected (steps that chaos made throw),
failures seen and repairs made (sim:status, summed over the storm's reseeds),
the worst stuck time (how late any actor was past its due time while
running), the fewest state changes of any worker in the calm half (0 would be
a lost worker), and rule violations. Exit status 1 if a rule was broken, a
step failed for another reason than chaos, a worker stopped cycling, or an
actor was stuck past 30 s (the watchdog repairs within seconds); 2 for bad options.`;

const POPULATIONS = [
  { reindeer: DEFAULTS.reindeer, elves: DEFAULTS.elves, group: DEFAULTS.elfGroupSize },
  { reindeer: 4, elves: 7, group: 2 },
  { reindeer: 2, elves: 12, group: 4 },
  { reindeer: 25, elves: 40, group: 5 },
];

/** An actor later than this past its due time counts as stuck. */
export const STUCK_BOUND_MS = 30_000;

type Options = {
  seeds: number;
  firstSeed: number;
  minutes: number;
  chaos: number;
  stormGapMs: number;
  json: boolean;
};

function parse(raw: string[]): Options | string | "help" {
  const argv = splitInlineValues(raw);
  const o: Options = {
    seeds: 10,
    firstSeed: 1,
    minutes: 30,
    chaos: 0.25,
    stormGapMs: 5000,
    json: false,
  };
  const numeric: Record<string, [keyof Options, (n: number) => boolean, string]> = {
    "--seeds": ["seeds", (n) => Number.isInteger(n) && n >= 1 && n <= 10_000, "an integer from 1 to 10000"],
    "--first-seed": ["firstSeed", (n) => Number.isInteger(n) && n >= 0 && n < 2 ** 32, "an integer from 0 to 4294967295"],
    "--minutes": ["minutes", (n) => n > 0 && n <= 10_080, "a number above 0 and at most 10080"],
    "--chaos": ["chaos", (n) => n >= 0 && n <= 1, "a number from 0 to 1"],
    "--storm-gap-ms": ["stormGapMs", (n) => n >= 1 && n <= 3_600_000, "a number from 1 to 3600000"],
  };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === "--help" || arg === "-h") return "help";
    if (arg === "--json") {
      o.json = true;
      continue;
    }
    const spec = numeric[arg];
    if (spec === undefined) return `unknown option "${arg}"`;
    const value = argv[++i];
    const n = Number(value);
    if (value === undefined || value.trim() === "" || !spec[1](n)) {
      return `${arg} must be ${spec[2]}, got ${value === undefined ? "nothing" : `"${value}"`}`;
    }
    (o[spec[0]] as number) = n;
  }
  return o;
}

type SeedLine = {
  seed: number;
  population: string;
  virtualMs: number;
  wallMs: number;
  rounds: number;
  injected: number;
  failuresSeen: number;
  repairs: number;
  stormCommands: number;
  worstStuckMs: number;
  fewestTransitions: number;
  violations: number;
  unexpectedFailures: number;
  firstProblems: string[];
};

function lineOf(seed: number, population: string, r: SimResult): SeedLine {
  const unexpected = r.executions.unexpected.count;
  return {
    seed,
    population,
    virtualMs: r.virtualMs,
    wallMs: r.wallMs,
    rounds: r.rounds.reindeer + r.rounds.elves,
    injected: r.executions.injected,
    failuresSeen: r.selfRepair.failuresSeen,
    repairs: r.selfRepair.repairs,
    stormCommands: Object.values(r.stormCommands).reduce((a, b) => a + b, 0),
    worstStuckMs: r.worstLatenessMs ?? 0,
    fewestTransitions: r.fewestTransitions ?? 0,
    violations: r.violations?.count ?? 0,
    unexpectedFailures: unexpected,
    firstProblems: [
      ...(r.violations?.first ?? []),
      ...r.executions.unexpected.first,
    ].slice(0, 5),
  };
}

function failed(l: SeedLine): boolean {
  return (
    l.violations > 0 ||
    l.unexpectedFailures > 0 ||
    l.fewestTransitions === 0 ||
    l.worstStuckMs > STUCK_BOUND_MS
  );
}

function format(l: SeedLine): string {
  const cells = [
    `seed ${String(l.seed).padStart(4)}`,
    l.population.padEnd(8),
    `rounds ${String(l.rounds).padStart(6)}`,
    `injected ${String(l.injected).padStart(5)}`,
    `seen ${String(l.failuresSeen).padStart(5)}`,
    `repairs ${String(l.repairs).padStart(5)}`,
    `storm ${String(l.stormCommands).padStart(4)}`,
    `worst stuck ${(l.worstStuckMs / 1000).toFixed(1).padStart(5)} s`,
    `fewest moves ${String(l.fewestTransitions).padStart(4)}`,
    `violations ${l.violations}`,
    `(${(l.wallMs / 1000).toFixed(1)} s)`,
  ];
  if (l.unexpectedFailures > 0) cells.push(`UNEXPECTED FAILURES ${l.unexpectedFailures}`);
  return cells.join("  ") + (failed(l) ? "  FAIL" : "");
}

async function main(argv: string[]): Promise<number> {
  const parsed = parse(argv);
  if (parsed === "help") {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  if (typeof parsed === "string") {
    process.stderr.write(`soak: ${parsed}\nRun \`npm run soak -- --help\` for the options.\n`);
    return 2;
  }
  const o = parsed;
  const say = (s: string) => {
    if (!o.json) process.stdout.write(`${s}\n`);
  };
  say(
    `Soak: ${o.seeds} seed(s) from ${o.firstSeed}, ${o.minutes} virtual minutes each, chaos ${o.chaos}, a storm of commands every ${o.stormGapMs} ms on average for the first half.`,
  );
  const lines: SeedLine[] = [];
  for (let k = 0; k < o.seeds; k++) {
    const seed = o.firstSeed + k;
    const p = POPULATIONS[seed % POPULATIONS.length]!;
    const runMs = o.minutes * 60_000;
    const r = await runSimulation({
      reindeer: p.reindeer,
      elves: p.elves,
      group: p.group,
      minutes: o.minutes,
      chaos: o.chaos,
      seed,
      check: true,
      storm: { meanGapMs: o.stormGapMs, untilMs: runMs / 2 },
    });
    const line = lineOf(seed, `${p.reindeer}/${p.elves}/${p.group}`, r);
    lines.push(line);
    say(format(line));
    for (const problem of line.firstProblems) say(`    ${problem}`);
  }
  const sum = (f: (l: SeedLine) => number) => lines.reduce((a, l) => a + f(l), 0);
  const total = {
    seeds: lines.length,
    virtualMs: sum((l) => l.virtualMs),
    wallMs: sum((l) => l.wallMs),
    rounds: sum((l) => l.rounds),
    injected: sum((l) => l.injected),
    failuresSeen: sum((l) => l.failuresSeen),
    repairs: sum((l) => l.repairs),
    stormCommands: sum((l) => l.stormCommands),
    worstStuckMs: Math.max(...lines.map((l) => l.worstStuckMs)),
    fewestTransitions: Math.min(...lines.map((l) => l.fewestTransitions)),
    violations: sum((l) => l.violations),
    unexpectedFailures: sum((l) => l.unexpectedFailures),
    failedSeeds: lines.filter(failed).map((l) => l.seed),
  };
  if (o.json) {
    process.stdout.write(`${JSON.stringify({ options: o, seeds: lines, total }, null, 2)}\n`);
  } else {
    say(
      `Total: ${total.seeds} seed${total.seeds === 1 ? "" : "s"}, ${formatElapsed(total.virtualMs)} of virtual time in ${(total.wallMs / 1000).toFixed(1)} s; ${total.rounds} rounds; ${total.injected} failures injected, ${total.failuresSeen} seen, ${total.repairs} repairs; ${total.stormCommands} storm commands; worst stuck ${(total.worstStuckMs / 1000).toFixed(1)} s; fewest moves ${total.fewestTransitions}; ${total.violations} rule violations; ${total.unexpectedFailures} unexpected failures.`,
    );
    say(
      total.failedSeeds.length === 0
        ? "PASS: no rule broken, no worker lost, nothing stuck."
        : `FAIL: seeds ${total.failedSeeds.join(", ")}.`,
    );
  }
  return total.failedSeeds.length === 0 ? 0 : 1;
}

process.on("SIGINT", () => process.exit(130));
process.exit(await main(process.argv.slice(2)));
