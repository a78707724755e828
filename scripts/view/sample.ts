/**
 * A sample timeline, made without any backend: a small event-driven model of
 * the rules (rules.ts's chooseGroup and drawDelay), recorded with
 * TimelineRecorder and drawn with renderTimelineSvg. The offline simulator
 * (`npm run simulate -- --timeline FILE.svg`) makes the same picture from the
 * real Convex functions; this is for trying the design.
 *
 *   npx vite-node scripts/view/sample.ts [--out docs/timeline.svg]
 *       [--png docs/timeline.png] [--reindeer 9] [--elves 10] [--group 3]
 *       [--seconds 20] [--seed 1] [--scale 2]
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { dirname } from "node:path";
import {
  chooseGroup,
  drawDelay,
  type Population,
  type SantaActivity,
  type WorkerState,
  type WorkerType,
} from "../../convex/rules";
import { renderSvgInChromium } from "./chromium";
import {
  TimelineRecorder,
  renderTimelineSvg,
  type TimelineInput,
  type TimelineSnapshot,
} from "./timeline";

type SampleOptions = Population & {
  seconds: number;
  seed: number;
  maxWorkMs: number;
  maxVacationMs: number;
};

/** A deterministic PRNG (mulberry32). */
function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let r = Math.imul(a ^ (a >>> 15), 1 | a);
    r = (r + Math.imul(r ^ (r >>> 7), 61 | r)) ^ r;
    return ((r ^ (r >>> 14)) >>> 0) / 4294967296;
  };
}

/** Runs the model and records it as the simulator would, step by step. */
export function sampleRun(o: SampleOptions): TimelineInput {
  const random = mulberry32(o.seed);
  const population: Population = {
    reindeer: o.reindeer,
    elves: o.elves,
    elfGroupSize: o.elfGroupSize,
  };
  const t0 = Date.UTC(2026, 11, 24, 18, 0, 0);
  let now = t0;
  type W = {
    workerType: WorkerType;
    number: number;
    state: WorkerState;
    since: number;
    dueAt: number;
  };
  const workers: W[] = [];
  for (let i = 1; i <= o.reindeer; i++) {
    workers.push({ workerType: "reindeer", number: i, state: "ready", since: now, dueAt: Infinity });
  }
  for (let i = 1; i <= o.elves; i++) {
    workers.push({ workerType: "elves", number: i, state: "ready", since: now, dueAt: Infinity });
  }
  const santa = {
    activity: "sleeping" as SantaActivity,
    since: now,
    dueAt: Infinity,
    group: [] as W[],
  };
  const recorder = new TimelineRecorder();
  const snap = (): TimelineSnapshot => ({
    now,
    np: {
      generation: 1,
      population,
      santa: {
        activity: santa.activity,
        step: 0,
        armed: santa.activity !== "sleeping",
        since: santa.since,
        group: santa.group.map((w) => w.number),
      },
    },
    workers: workers.map((w) => ({
      workerType: w.workerType,
      number: w.number,
      state: w.state,
      since: w.since,
    })),
  });

  const dispatch = () => {
    const ready = { reindeer: 0, elves: 0 };
    for (const w of workers) if (w.state === "ready") ready[w.workerType] += 1;
    const kind = chooseGroup(santa.activity, ready, population);
    if (kind === null) return;
    const group = workers
      .filter((w) => w.workerType === kind && w.state === "ready")
      .sort((a, b) => a.since - b.since || a.number - b.number)
      .slice(0, kind === "reindeer" ? o.reindeer : o.elfGroupSize);
    for (const w of group) {
      w.state = "working";
      w.since = now;
    }
    santa.activity = kind === "reindeer" ? "delivering" : "meeting";
    santa.since = now;
    santa.dueAt = now + drawDelay(o.maxWorkMs, random);
    santa.group = group;
  };

  const end = t0 + o.seconds * 1000;
  dispatch();
  recorder.observe(snap());
  while (true) {
    const next = Math.min(santa.dueAt, ...workers.map((w) => w.dueAt));
    if (next > end) break;
    now = next;
    if (santa.dueAt === now) {
      for (const w of santa.group) {
        w.state = "vacationing";
        w.since = now;
        w.dueAt = now + drawDelay(o.maxVacationMs, random);
      }
      santa.activity = "sleeping";
      santa.since = now;
      santa.dueAt = Infinity;
      santa.group = [];
    }
    for (const w of workers) {
      if (w.dueAt === now) {
        w.state = "ready";
        w.since = now;
        w.dueAt = Infinity;
      }
    }
    dispatch();
    recorder.observe(snap());
  }
  now = end;
  recorder.observe(snap());
  return recorder.toInput(end);
}

function parse(argv: string[]) {
  const o = {
    out: "docs/timeline.svg",
    png: "docs/timeline.png" as string | null,
    reindeer: 9,
    elves: 10,
    elfGroupSize: 3,
    seconds: 20,
    seed: 1,
    scale: 2,
    maxWorkMs: 1500,
    maxVacationMs: 1500,
  };
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i]!;
    const value = argv[++i];
    if (value === undefined) throw new Error(`${flag} needs a value`);
    switch (flag) {
      case "--out":
        o.out = value;
        break;
      case "--png":
        o.png = value === "none" ? null : value;
        break;
      case "--reindeer":
      case "--elves":
      case "--seconds":
      case "--seed":
      case "--scale":
        o[flag.slice(2) as "reindeer"] = Number(value);
        break;
      case "--group":
        o.elfGroupSize = Number(value);
        break;
      default:
        throw new Error(`unknown option ${flag}`);
    }
  }
  return o;
}

async function main() {
  const o = parse(process.argv.slice(2));
  const run = sampleRun(o);
  const svg = renderTimelineSvg(run, {
    title: "North Pole timeline (sample)",
  });
  mkdirSync(dirname(o.out), { recursive: true });
  writeFileSync(o.out, svg);
  console.log(`Wrote ${o.out} (${svg.length} bytes).`);
  if (o.png !== null) {
    const { png, box } = await renderSvgInChromium(svg, { scale: o.scale });
    mkdirSync(dirname(o.png), { recursive: true });
    writeFileSync(o.png, png);
    console.log(`Wrote ${o.png} (${box.width}x${box.height} CSS px at scale ${o.scale}, ${png.length} bytes).`);
  }
}

await main();
