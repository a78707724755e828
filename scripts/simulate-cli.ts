/**
 * `npm run simulate` (scripts/simulate.ts only calls `main`): its flags, its
 * help, the live view and the timeline picture, its summary and its exit
 * status, here so that tests can call them with their own streams.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { dirname } from "node:path";
import { DEFAULTS, LIMITS } from "../convex/rules";
import {
  START_AT,
  checkOptions,
  formatElapsed,
  runSimulation,
  withDefaults,
  type SimOptions,
  type SimResult,
  type StepInfo,
} from "./simulator";
import { clock, renderNorthPole } from "./view/render";
import {
  createScreen,
  type Screen,
  type ScreenOutput,
  type ScreenProcess,
} from "./view/terminal";
import { TimelineRecorder, renderTimelineSvg } from "./view/timeline";
import { splitInlineValues } from "./args";

/**
 * The real `setTimeout`, taken before any run installs its fake clock: the
 * live view waits in real time between virtual steps.
 */
const realSetTimeout = globalThis.setTimeout;
const sleep = (ms: number) =>
  new Promise<void>((resolve) => realSetTimeout(resolve, ms));

export const USAGE = `Usage: npm run simulate -- [options]

Runs the North Pole's own Convex functions in-process on convex-test's backend,
in virtual time: no deployment, no network. Prints the classic log lines with
their virtual time as they happen, then a summary.

Population
  --reindeer N          reindeer (${LIMITS.reindeer.min} to ${LIMITS.reindeer.max}, default ${DEFAULTS.reindeer})
  --elves N             elves (${LIMITS.elves.min} to ${LIMITS.elves.max}, default ${DEFAULTS.elves})
  --group G             elves per group (${LIMITS.elfGroupSize.min} to ${LIMITS.elfGroupSize.max}, at most --elves, default ${DEFAULTS.elfGroupSize})
Length, in virtual time (one of them)
  --rounds N            stop after N rounds, reindeer and elves together
  --minutes M           stop after M virtual minutes (default 1; fractions allowed)
Speeds and faults
  --max-work-ms MS      Santa works up to MS ms with a group (default ${DEFAULTS.maxWorkMs})
  --max-vacation-ms MS  a vacation lasts up to MS ms (default ${DEFAULTS.maxVacationMs})
  --chaos P             share of actor steps that fail on purpose, 0 to 1 (default 0)
  --rng-seed S          seed of the random delays, 0 to 4294967295 (default 1):
                        the same seed gives the same run, event for event
Output
  --quiet               no log lines; a progress bar on a terminal instead
  --json                no log lines; the summary as one JSON object
  --view                the live North Pole command center (as \`npm run watch\`
                        draws it) instead of the log lines, paced in real time
  --speedup K           with --view: K virtual seconds per real second
                        (default 1; up to 1000)
  --plain               with --view: letters and ASCII instead of emoji
  --timeline FILE.svg   write an SVG timeline of the run: a lane for Santa and
                        one per worker (lanes per group past 40 workers)
  --png FILE.png        with --timeline: also render it to PNG in headless
                        Chromium (Debian's \`chromium\`, or $CHROMIUM_PATH)
  --no-check            skip the independent rule checker (it reads every
                        worker after every step; faster for large populations)
  --help                this text

The summary: rounds of each kind, Santa's busy share, the elves' wait from
ready to working (p50/p99/max), function executions per round against the
floor (G+1, R+1; every execution counted, the workpool component's too),
documents read and written per transaction (mean, max), and the rule
violations the checker found (test/invariants.ts). Exit status: 0 when no rule
was broken and no step failed unexpectedly, 1 otherwise, 2 for bad options.

Examples
  npm run simulate
  npm run simulate -- --rounds 50 --rng-seed 7
  npm run simulate -- --reindeer 1000 --elves 10000 --minutes 0.5 --quiet --no-check
  npm run simulate -- --chaos 0.2 --minutes 5 --quiet
  npm run simulate -- --view --speedup 2
  npm run simulate -- --minutes 0.5 --timeline run.svg --png run.png`;

export type CliOptions = SimOptions & {
  quiet: boolean;
  json: boolean;
  help: boolean;
  view?: boolean;
  plain?: boolean;
  speedup?: number;
  timeline?: string;
  png?: string;
};

const MAX_SPEEDUP = 1000;

const NUMERIC: Record<string, keyof SimOptions> = {
  "--reindeer": "reindeer",
  "--elves": "elves",
  "--group": "group",
  "--rounds": "rounds",
  "--minutes": "minutes",
  "--max-work-ms": "maxWorkMs",
  "--max-vacation-ms": "maxVacationMs",
  "--chaos": "chaos",
  "--rng-seed": "seed",
};

/** Parses the flags; a string says what is wrong with them. */
export function parseFlags(raw: string[]): CliOptions | string {
  const argv = splitInlineValues(raw);
  const o: CliOptions = { quiet: false, json: false, help: false };
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i]!;
    if (flag === "--help" || flag === "-h") o.help = true;
    else if (flag === "--quiet") o.quiet = true;
    else if (flag === "--json") o.json = true;
    else if (flag === "--no-check") o.check = false;
    else if (flag === "--view") o.view = true;
    else if (flag === "--plain") o.plain = true;
    else if (flag === "--timeline" || flag === "--png") {
      const value = argv[++i];
      if (value === undefined || value.startsWith("--") || value.trim() === "") {
        return `${flag} needs a file name`;
      }
      const ext = flag === "--timeline" ? ".svg" : ".png";
      if (!value.toLowerCase().endsWith(ext)) {
        return `${flag} writes ${ext === ".svg" ? "an SVG" : "a PNG"} file: its name must end in ${ext}, got "${value}"`;
      }
      o[flag === "--timeline" ? "timeline" : "png"] = value;
    } else if (flag === "--speedup") {
      const value = argv[++i];
      const n = Number(value);
      if (value === undefined || value.trim() === "" || !(n > 0 && n <= MAX_SPEEDUP)) {
        return `--speedup must be a number above 0 and at most ${MAX_SPEEDUP}, got ${value === undefined ? "nothing" : `"${value}"`}`;
      }
      o.speedup = n;
    } else if (flag in NUMERIC) {
      const value = argv[++i];
      if (value === undefined || value.startsWith("--")) {
        return `${flag} needs a value`;
      }
      const n = Number(value);
      if (value.trim() === "" || !Number.isFinite(n)) {
        return `${flag} must be a number, got "${value}"`;
      }
      o[NUMERIC[flag]!] = n as never;
    } else {
      return `unknown option "${flag}"`;
    }
  }
  const conflict =
    o.view && o.quiet ? "--view and --quiet" : o.view && o.json ? "--view and --json" : null;
  if (conflict !== null) return `give ${conflict.replace(" and ", " or ")}, not both`;
  if (!o.view && (o.speedup !== undefined || o.plain)) {
    return `${o.plain ? "--plain" : "--speedup"} only goes with --view`;
  }
  if (o.png !== undefined && o.timeline === undefined) {
    return "--png goes with --timeline (the PNG is a picture of the SVG)";
  }
  return o;
}

function percent(x: number): string {
  return `${(100 * x).toFixed(1)}%`;
}

function fixed(x: number, digits = 2): string {
  return x.toFixed(digits);
}

/** The summary, as lines of text. */
export function summaryLines(r: SimResult): string[] {
  const { options: o, executions: x, transactions: tx } = r;
  const total = r.rounds.reindeer + r.rounds.elves;
  const top = Object.entries(x.byFunction)
    .slice(0, 6)
    .map(([name, n]) => `${name} ${n}`)
    .join(", ");
  const lines = [
    "",
    `Summary: ${formatElapsed(r.virtualMs)} of virtual time in ${fixed(r.wallMs / 1000, 1)} s (${fixed(r.virtualSecondsPerWallSecond, 1)} virtual s per wall s, ${r.steps} steps), seed ${o.seed}`,
    `  rounds              ${total}: ${r.rounds.reindeer} of reindeer, ${r.rounds.elves} of elves (${fixed(r.roundsPerVirtualMinute, 1)} per virtual minute)`,
    `  Santa busy          ${percent(r.santaBusyShare)} of the time`,
    `  elf wait            p50 ${r.elfWaitMs.p50} ms, p99 ${r.elfWaitMs.p99} ms, max ${r.elfWaitMs.max} ms (ready to working, ${r.elfWaitMs.count} served)`,
    `  executions/round    elves ${fixed(x.perRound.elves.measured)} (floor G+1 = ${x.perRound.elves.floor}; client subscriptions 6G+3 = ${x.perRound.elves.subscriptionDesign})`,
    `                      reindeer ${fixed(x.perRound.reindeer.measured)} (floor R+1 = ${x.perRound.reindeer.floor}; client subscriptions 6R+3 = ${x.perRound.reindeer.subscriptionDesign})`,
    `  executions          ${x.total}, components included: ${top}`,
    `                      attributed: ${x.attributed.elves} to elf rounds, ${x.attributed.reindeer} to reindeer rounds, ${x.attributed.shared} shared, ${x.attributed.commands} commands`,
    `  per transaction     documents read mean ${fixed(tx.documentsRead.mean, 1)}, max ${tx.documentsRead.max} (${tx.documentsRead.maxBy}); written mean ${fixed(tx.documentsWritten.mean, 1)}, max ${tx.documentsWritten.max} (${tx.documentsWritten.maxBy}); ${tx.count} transactions`,
    `  overhead            ${fixed(r.overheadRatio)}x: wall time / time inside the function handlers (${fixed(r.handlerMs / 1000, 1)} s)`,
    `  chaos               ${o.chaos === 0 ? "off" : `${percent(o.chaos)} of steps fail`}; ${x.injected} steps failed on purpose, ${r.finalStatus.chaos.failures} failures seen, ${r.finalStatus.chaos.repairs} repairs; ${x.failed} executions threw (re-runs around a failed step included)`,
    r.violations === null
      ? "  rule violations     not checked (--no-check)"
      : `  rule violations     ${r.violations.count} (independent checker after every step)`,
  ];
  for (const v of r.violations?.first ?? []) lines.push(`    ${v}`);
  if (x.unexpected.count > 0) {
    lines.push(`  UNEXPECTED FAILURES ${x.unexpected.count} (not caused by chaos):`);
    for (const f of x.unexpected.first) lines.push(`    failed: ${f}`);
  }
  return lines;
}

/** 0 when all is well; 1 for a broken rule or a step that failed unasked. */
export function exitCode(r: SimResult): number {
  if ((r.violations?.count ?? 0) > 0) return 1;
  if (r.executions.unexpected.count > 0) return 1;
  return 0;
}

export function progressBar(info: StepInfo, width = 30): string {
  const filled = Math.round(info.progress * width);
  const rounds = info.rounds.reindeer + info.rounds.elves;
  return `\r[${"#".repeat(filled)}${".".repeat(width - filled)}] ${String(Math.floor(info.progress * 100)).padStart(3)}%  ${formatElapsed(info.elapsedMs)} virtual, ${rounds} rounds`;
}


/** Where `main` writes; process.stdout and process.stderr fit. */
export type CliIO = {
  stdout: ScreenOutput;
  stderr: { write(chunk: string): unknown; isTTY?: boolean };
  /** For the view's Ctrl-C handling; default the global process. */
  process?: ScreenProcess;
};

/** Runs `npm run simulate` with these flags; resolves to the exit status. */
export async function main(argv: string[], io: CliIO): Promise<number> {
  const { stdout, stderr } = io;
  const parsed = parseFlags(argv);
  if (typeof parsed === "string") {
    stderr.write(`simulate: ${parsed}\nRun \`npm run simulate -- --help\` for the options.\n`);
    return 2;
  }
  if (parsed.help) {
    stdout.write(`${USAGE}\n`);
    return 0;
  }
  const {
    quiet,
    json,
    help: _help,
    view,
    plain,
    speedup,
    timeline,
    png,
    ...options
  } = parsed;
  const problems = checkOptions(withDefaults(options));
  if (problems.length > 0) {
    stderr.write(
      `simulate: ${problems.join("; ")}\nRun \`npm run simulate -- --help\` for the options.\n`,
    );
    return 2;
  }
  const printLines = !quiet && !json && !view;
  const bar = quiet && !json && stderr.isTTY === true;
  let lastBar = 0;
  let last: StepInfo | null = null;
  const live = view ? new LiveView(io, { plain: plain ?? false, speedup: speedup ?? 1, seed: options.seed ?? 1 }) : null;
  const recorder = timeline !== undefined ? new TimelineRecorder() : null;
  let result: SimResult;
  try {
    result = await runSimulation(
      { ...options, status: live !== null, snapshots: recorder !== null },
      {
        onStep: async (info) => {
          last = info;
          if (recorder !== null && info.snapshot !== null) {
            recorder.observe(info.snapshot);
          }
          if (live !== null) await live.step(info);
          if (printLines && info.lines.length > 0) {
            stdout.write(
              info.lines
                .map((line) => `${formatElapsed(line.at - START_AT)} ${line.text}\n`)
                .join(""),
            );
          }
          // Redrawn ten times a second at the most, not at every step.
          if (bar && performance.now() - lastBar > 100) {
            lastBar = performance.now();
            stderr.write(progressBar(info));
          }
        },
      },
    );
  } finally {
    live?.close();
    if (bar && last !== null) {
      stderr.write(`${progressBar({ ...(last as StepInfo), progress: 1 })}\n`);
    }
  }
  if (json) {
    stdout.write(`${JSON.stringify(result, null, 2)}\n`);
  } else {
    stdout.write(`${summaryLines(result).join("\n")}\n`);
  }
  if (recorder !== null && timeline !== undefined) {
    const code = await writeTimeline(recorder, result, timeline, png, io);
    if (code !== 0) return code;
  }
  return exitCode(result);
}

/**
 * The command center over the simulator: redraws after every step, waiting
 * in real time for the virtual time between steps (divided by the speedup).
 */
class LiveView {
  private readonly screen: Screen;
  private readonly log: string[] = [];
  private startWall = 0;
  private startVirtual: number | null = null;

  constructor(
    io: CliIO,
    private readonly o: { plain: boolean; speedup: number; seed: number },
  ) {
    this.screen = createScreen({ out: io.stdout, process: io.process });
  }

  async step(info: StepInfo) {
    if (this.startVirtual === null) {
      this.startVirtual = info.now;
      this.startWall = performance.now();
    } else {
      const due = this.startWall + (info.now - this.startVirtual) / this.o.speedup;
      const wait = due - performance.now();
      // Behind (a slow step, a large population): no wait, so it catches up.
      if (wait > 0) await sleep(wait);
    }
    for (const line of info.lines) this.log.unshift(`${clock(line.at)} ${line.text}`);
    this.log.length = Math.min(this.log.length, 50);
    if (info.status === null) return;
    const pace = this.o.speedup === 1 ? "real time" : `${this.o.speedup}x real time`;
    this.screen.draw(
      renderNorthPole(info.status, this.log, {
        emoji: !this.o.plain,
        width: this.screen.width(),
        title: "North Pole command center (offline simulator)",
        footer: [
          `Virtual time ${formatElapsed(info.elapsedMs)}, ${pace}, seed ${this.o.seed}. Ctrl-C to quit.`,
        ],
      }),
    );
  }

  close() {
    this.screen.close();
  }
}

async function writeTimeline(
  recorder: TimelineRecorder,
  result: SimResult,
  file: string,
  png: string | undefined,
  io: CliIO,
): Promise<number> {
  const svg = renderTimelineSvg(recorder.toInput(START_AT + result.virtualMs));
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, svg);
  io.stdout.write(`Wrote the timeline to ${file} (${Buffer.byteLength(svg).toLocaleString("en-US")} bytes).\n`);
  if (png === undefined) return 0;
  try {
    // Loaded only when asked for: it brings playwright-core.
    const { renderSvgInChromium } = await import("./view/chromium");
    const rendering = await renderSvgInChromium(svg, { scale: 2 });
    mkdirSync(dirname(png), { recursive: true });
    writeFileSync(png, rendering.png);
    io.stdout.write(
      `Wrote its picture to ${png} (${Math.round(rendering.box.width)}x${Math.round(rendering.box.height)} px at scale 2).\n`,
    );
    return 0;
  } catch (e) {
    io.stderr.write(`simulate: could not write ${png}: ${(e as Error).message}\n`);
    return 1;
  }
}
