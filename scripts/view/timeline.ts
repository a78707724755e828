/**
 * A picture of a run: one lane for Santa, colored by what he does, and one lane
 * per worker, colored by its state, over virtual time, with a legend and a time
 * axis; as a standalone SVG. Past `maxLanes` workers (or when the changes are
 * too dense to draw one by one) the workers are summarized: one lane per type,
 * stacked by the share of that type in each state over time.
 *
 * `TimelineRecorder` builds the input from successive snapshots of the North
 * Pole (what `snapshot(t)` in test/invariants.ts returns), so a simulator can
 * feed it after every step.
 */
import type { Doc } from "../../convex/_generated/dataModel";
import type {
  Population,
  SantaActivity,
  WorkerState,
  WorkerType,
} from "../../convex/rules";

export type TimelineInput = {
  /** Virtual time (ms since the epoch) where the picture starts. */
  start: number;
  /** Virtual time where it ends. */
  end: number;
  population: Population;
  /** Santa's activity changes, sorted by time; the first one at `start`. */
  santa: { at: number; activity: SantaActivity }[];
  workers: {
    workerType: WorkerType;
    number: number;
    /** State changes, sorted by time; the first one is the initial state. */
    changes: { at: number; state: WorkerState }[];
  }[];
};

export type TimelineOptions = {
  /** Picture width in px. Default 1200. */
  width?: number;
  /** Default "North Pole timeline". */
  title?: string;
  /** Line under the title. Default: population, duration and rounds. */
  subtitle?: string;
  /** Past this many workers, lanes per type instead of per worker. Default 40. */
  maxLanes?: number;
  /** "auto" (default) decides by `maxLanes` and by how dense the changes are. */
  mode?: "auto" | "lanes" | "summary";
};

/** Colors, shared by the legend and the lanes. */
export const TIMELINE_COLORS = {
  sleeping: "#cbd5e1",
  delivering: "#c62828",
  meeting: "#2e7d32",
  vacationing: "#90caf9",
  ready: "#ffb300",
  /** A worker at work has the color of what Santa does with it. */
  working: { reindeer: "#c62828", elves: "#2e7d32" },
  laneBackground: "#f1f5f9",
  grid: "#e2e8f0",
  text: "#1e293b",
  muted: "#64748b",
} as const;

const FONT = "DejaVu Sans, Verdana, Helvetica, Arial, sans-serif";
const LABEL_WIDTH = 118;
const RIGHT_MARGIN = 40;
const SANTA_LANE = 30;
const WORKER_LANE = 16;
const WORKER_GAP = 4;
const GROUP_GAP = 14;
const SUMMARY_LANE = 90;
/** Width of one bin of a summarized lane, px. */
const BIN_PX = 2;

type Interval<S extends string> = { from: number; to: number; state: S };

/**
 * The intervals of a step function, clipped to [start, end). Neighbours in
 * the same state are merged unless `merge` is false (Santa's lane: two
 * meetings in a row are two rounds).
 */
export function intervalsOf<S extends string>(
  changes: { at: number; state: S }[],
  start: number,
  end: number,
  merge = true,
): Interval<S>[] {
  const out: Interval<S>[] = [];
  for (let i = 0; i < changes.length; i++) {
    const from = Math.max(start, changes[i]!.at);
    const to = Math.min(end, changes[i + 1]?.at ?? end);
    if (to <= from) continue;
    const state = changes[i]!.state;
    const prev = out[out.length - 1];
    if (merge && prev && prev.state === state && prev.to === from) prev.to = to;
    else out.push({ from, to, state });
  }
  return out;
}

/** Renders the run as a standalone SVG document. */
export function renderTimelineSvg(
  run: TimelineInput,
  options: TimelineOptions = {},
): string {
  const width = Math.max(480, Math.round(options.width ?? 1200));
  const start = run.start;
  const end = Math.max(run.end, start + 1);
  const plotLeft = LABEL_WIDTH;
  const plotRight = width - RIGHT_MARGIN;
  const plotWidth = plotRight - plotLeft;
  const x = (t: number) => round(plotLeft + ((t - start) / (end - start)) * plotWidth);

  const workers = [...run.workers].sort(
    (a, b) =>
      typeOrder(a.workerType) - typeOrder(b.workerType) || a.number - b.number,
  );
  const workerIntervals = workers.map((w) => intervalsOf(w.changes, start, end));
  const santaChanges = run.santa.map((s) => ({ at: s.at, state: s.activity }));
  const santaIntervals = intervalsOf(santaChanges, start, end, false);
  // Lanes of rects stay readable while an interval averages 2 px or more.
  const densest = Math.max(0, ...workerIntervals.map((i) => i.length));
  const mode =
    options.mode === "lanes" || options.mode === "summary"
      ? options.mode
      : workers.length > (options.maxLanes ?? 40) || densest > plotWidth / 2
        ? "summary"
        : "lanes";

  const rounds = {
    delivering: santaIntervals.filter((i) => i.state === "delivering").length,
    meeting: santaIntervals.filter((i) => i.state === "meeting").length,
  };
  const p = run.population;
  const title = options.title ?? "North Pole timeline";
  const subtitle =
    options.subtitle ??
    [
      `${fmtInt(p.reindeer)} reindeer, ${fmtInt(p.elves)} elves in groups of ${p.elfGroupSize}`,
      `${formatDuration(end - start)} of virtual time`,
      `${plural(rounds.delivering, "delivery", "deliveries")}, ${plural(rounds.meeting, "meeting", "meetings")} in the study`,
    ].join("  ·  ");

  const body: string[] = [];
  let y = 20;
  body.push(
    text(plotLeft - LABEL_WIDTH + 16, (y += 16), title, { size: 20, weight: "bold" }),
  );
  body.push(
    text(plotLeft - LABEL_WIDTH + 16, (y += 22), subtitle, { size: 13, fill: TIMELINE_COLORS.muted }),
  );
  y += 16;
  const legend = renderLegend(plotLeft - LABEL_WIDTH + 16, y, width - 32);
  body.push(legend.svg);
  y = legend.bottom + 18;

  const lanesTop = y;
  const lanes: string[] = [];
  const labelX = plotLeft - 10;

  // Santa's lane.
  const santaDense = santaIntervals.length > plotWidth / 4;
  lanes.push(
    `<g data-lane="santa" data-kind="santa">` +
      text(labelX, y + SANTA_LANE / 2 + 5, "Santa", { size: 14, weight: "bold", anchor: "end" }) +
      rect(plotLeft, y, plotWidth, SANTA_LANE, TIMELINE_COLORS.laneBackground) +
      (santaDense
        ? stackedArea(
            [{ changes: santaChanges }],
            ["meeting", "delivering", "sleeping"] as const,
            (s) => TIMELINE_COLORS[s],
            start,
            end,
            plotLeft,
            plotWidth,
            y,
            SANTA_LANE,
          )
        : santaIntervals
            .map((i) => {
              const x0 = x(i.from);
              const w = round(x(i.to) - x0);
              const label =
                i.state !== "sleeping" && w > approxTextWidth(i.state, 11) + 10
                  ? text(x0 + w / 2, y + SANTA_LANE / 2 + 4, i.state, {
                      size: 11,
                      fill: "#ffffff",
                      anchor: "middle",
                    })
                  : "";
              return (
                rect(x0, y, w, SANTA_LANE, TIMELINE_COLORS[i.state], {
                  // A white edge parts two rounds of one kind in a row.
                  stroke: i.state === "sleeping" ? undefined : "#ffffff",
                  state: i.state,
                  from: i.from,
                  to: i.to,
                  title: `Santa ${i.state}, ${formatOffset(i.from - start)} to ${formatOffset(i.to - start)}`,
                }) + label
              );
            })
            .join("")) +
      `</g>`,
  );
  y += SANTA_LANE + GROUP_GAP;

  if (mode === "lanes") {
    let prevType: WorkerType | null = null;
    workers.forEach((w, k) => {
      if (prevType !== null && prevType !== w.workerType) y += GROUP_GAP - WORKER_GAP;
      prevType = w.workerType;
      const name = w.workerType === "reindeer" ? `Reindeer ${w.number}` : `Elf ${w.number}`;
      const withTitles = workerIntervals[k]!.length <= 200;
      lanes.push(
        `<g data-lane="${w.workerType}-${w.number}" data-kind="worker" data-worker-type="${w.workerType}" data-number="${w.number}">` +
          text(labelX, y + WORKER_LANE / 2 + 4, name, { size: 11.5, anchor: "end" }) +
          rect(plotLeft, y, plotWidth, WORKER_LANE, TIMELINE_COLORS.laneBackground) +
          workerIntervals[k]!
            .map((i) => {
              const x0 = x(i.from);
              const fill =
                i.state === "working"
                  ? TIMELINE_COLORS.working[w.workerType]
                  : TIMELINE_COLORS[i.state];
              return rect(x0, y, round(x(i.to) - x0), WORKER_LANE, fill, {
                state: i.state,
                from: i.from,
                to: i.to,
                title: withTitles
                  ? `${name} ${i.state}, ${formatOffset(i.from - start)} to ${formatOffset(i.to - start)}`
                  : undefined,
              });
            })
            .join("") +
          `</g>`,
      );
      y += WORKER_LANE + WORKER_GAP;
    });
    y -= WORKER_GAP;
  } else {
    for (const type of ["reindeer", "elves"] as const) {
      const ofType = workers.filter((w) => w.workerType === type);
      if (ofType.length === 0) continue;
      const name = type === "reindeer" ? "Reindeer" : "Elves";
      lanes.push(
        `<g data-lane="${type}-summary" data-kind="summary" data-worker-type="${type}" data-workers="${ofType.length}">` +
          text(labelX, y + SUMMARY_LANE / 2 - 4, name, { size: 14, weight: "bold", anchor: "end" }) +
          text(labelX, y + SUMMARY_LANE / 2 + 13, `${fmtInt(ofType.length)}, by state`, {
            size: 11,
            anchor: "end",
            fill: TIMELINE_COLORS.muted,
          }) +
          rect(plotLeft, y, plotWidth, SUMMARY_LANE, TIMELINE_COLORS.laneBackground) +
          stackedArea(
            ofType,
            ["working", "ready", "vacationing"] as const,
            (s) => (s === "working" ? TIMELINE_COLORS.working[type] : TIMELINE_COLORS[s]),
            start,
            end,
            plotLeft,
            plotWidth,
            y,
            SUMMARY_LANE,
          ) +
          text(plotRight + 4, y + 9, "100%", { size: 9, fill: TIMELINE_COLORS.muted }) +
          text(plotRight + 4, y + SUMMARY_LANE, "0%", { size: 9, fill: TIMELINE_COLORS.muted }) +
          `</g>`,
      );
      y += SUMMARY_LANE + GROUP_GAP;
    }
    y -= GROUP_GAP;
  }
  const lanesBottom = y;

  // Time axis: grid lines behind the lanes, ticks and labels under them.
  const ticks = niceTicks(end - start, plotWidth);
  const grid: string[] = [];
  const axis: string[] = [];
  const axisY = lanesBottom + 8;
  axis.push(line(plotLeft, axisY, plotRight, axisY, TIMELINE_COLORS.muted));
  for (const t of ticks) {
    const tx = x(start + t);
    grid.push(line(tx, lanesTop - 4, tx, lanesBottom, TIMELINE_COLORS.grid));
    axis.push(line(tx, axisY, tx, axisY + 5, TIMELINE_COLORS.muted));
    axis.push(
      `<text class="tick" x="${tx}" y="${axisY + 19}" font-size="11" text-anchor="middle" fill="${TIMELINE_COLORS.text}">${esc(formatTick(t, ticks[1]! - ticks[0]!))}</text>`,
    );
  }
  axis.push(
    text(plotLeft + plotWidth / 2, axisY + 38, "virtual time since the start of the run", {
      size: 12,
      anchor: "middle",
      fill: TIMELINE_COLORS.muted,
    }),
  );
  const height = Math.round(axisY + 52);

  return [
    `<?xml version="1.0" encoding="UTF-8"?>`,
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="${FONT}" data-mode="${mode}" data-start="${start}" data-end="${end}" data-plot-left="${plotLeft}" data-plot-right="${plotRight}">`,
    `<title>${esc(title)}</title>`,
    `<rect width="100%" height="100%" fill="#ffffff"/>`,
    ...body,
    `<g class="grid">${grid.join("")}</g>`,
    `<g class="lanes">`,
    ...lanes,
    `</g>`,
    `<g class="axis">${axis.join("")}</g>`,
    `</svg>`,
    "",
  ].join("\n");
}

function renderLegend(left: number, top: number, maxWidth: number) {
  const items: [string, string][] = [
    [TIMELINE_COLORS.sleeping, "Santa sleeping"],
    [TIMELINE_COLORS.delivering, "delivering toys (Santa + reindeer)"],
    [TIMELINE_COLORS.meeting, "meeting in the study (Santa + elves)"],
    [TIMELINE_COLORS.ready, "ready, waiting for Santa"],
    [TIMELINE_COLORS.vacationing, "on vacation"],
  ];
  const parts: string[] = [];
  let lx = left;
  let ly = top;
  for (const [color, label] of items) {
    const w = 14 + 6 + approxTextWidth(label, 12) + 22;
    if (lx + w > left + maxWidth && lx > left) {
      lx = left;
      ly += 20;
    }
    parts.push(
      `<g class="legend-item">` +
        rect(lx, ly, 14, 14, color, { stroke: "#94a3b8" }) +
        text(lx + 20, ly + 11.5, label, { size: 12 }) +
        `</g>`,
    );
    lx += w;
  }
  return { svg: `<g class="legend">${parts.join("")}</g>`, bottom: ly + 14 };
}

/**
 * For each of `bins` equal bins of [start, end), the time-weighted share of
 * the actors in each state (the shares of a bin add up to 1, or to 0 where no
 * actor has a state yet).
 */
export function stateShares<S extends string>(
  actors: { changes: { at: number; state: S }[] }[],
  states: readonly S[],
  start: number,
  end: number,
  bins: number,
): Map<S, Float64Array> {
  const binMs = (end - start) / bins;
  const covered = new Map<S, Float64Array>();
  const full = new Map<S, Float64Array>();
  for (const s of states) {
    covered.set(s, new Float64Array(bins));
    full.set(s, new Float64Array(bins + 1));
  }
  for (const a of actors) {
    for (const i of intervalsOf(a.changes, start, end)) {
      const acc = covered.get(i.state);
      const diff = full.get(i.state);
      if (!acc || !diff) continue;
      const u0 = (i.from - start) / binMs;
      const u1 = (i.to - start) / binMs;
      const b0 = Math.min(bins - 1, Math.floor(u0));
      const b1 = Math.min(bins - 1, Math.floor(u1));
      if (b0 === b1) {
        acc[b0]! += u1 - u0;
      } else {
        // Partial first and last bins; the whole bins between, by a
        // difference array, so a long interval costs O(1).
        acc[b0]! += b0 + 1 - u0;
        acc[b1]! += u1 - b1;
        diff[b0 + 1]! += 1;
        diff[b1]! -= 1;
      }
    }
  }
  const totals = new Float64Array(bins);
  for (const s of states) {
    const acc = covered.get(s)!;
    const diff = full.get(s)!;
    let running = 0;
    for (let b = 0; b < bins; b++) {
      running += diff[b]!;
      acc[b]! += running;
      totals[b]! += acc[b]!;
    }
  }
  for (const s of states) {
    const acc = covered.get(s)!;
    for (let b = 0; b < bins; b++) acc[b] = totals[b]! > 0 ? acc[b]! / totals[b]! : 0;
  }
  return covered;
}

/**
 * A lane that stacks, for each bin of time, the share of the given actors in
 * each state, bottom to top in `order`.
 */
function stackedArea<S extends string>(
  actors: { changes: { at: number; state: S }[] }[],
  order: readonly S[],
  color: (s: S) => string,
  start: number,
  end: number,
  left: number,
  width: number,
  top: number,
  height: number,
): string {
  const bins = Math.max(1, Math.floor(width / BIN_PX));
  const shares = stateShares(actors, order, start, end, bins);
  const below = new Float64Array(bins);
  const yOf = (share: number) => round(top + height * (1 - share));
  const xOf = (b: number) => round(left + (b / bins) * width);
  const paths: string[] = [];
  for (const s of order) {
    const share = shares.get(s)!;
    if (share.every((v) => v < 1e-9)) continue;
    const bottom = Array.from(below);
    for (let b = 0; b < bins; b++) below[b]! += share[b]!;
    const pts: string[] = [];
    for (let b = 0; b < bins; b++) {
      pts.push(`${xOf(b)},${yOf(below[b]!)}`, `${xOf(b + 1)},${yOf(below[b]!)}`);
    }
    for (let b = bins - 1; b >= 0; b--) {
      pts.push(`${xOf(b + 1)},${yOf(bottom[b]!)}`, `${xOf(b)},${yOf(bottom[b]!)}`);
    }
    paths.push(
      `<path data-state="${s}" fill="${color(s)}" d="M${dedupe(pts).join("L")}Z"/>`,
    );
  }
  return paths.join("");
}

/** Drops points equal to the one before (steps at the same height). */
function dedupe(points: string[]): string[] {
  const out: string[] = [];
  for (const p of points) if (out[out.length - 1] !== p) out.push(p);
  return out;
}

const TICK_STEPS_MS = [
  1, 2, 5, 10, 20, 50, 100, 200, 500, 1_000, 2_000, 5_000, 10_000, 15_000,
  30_000, 60_000, 120_000, 300_000, 600_000, 900_000, 1_800_000, 3_600_000,
  7_200_000, 10_800_000, 21_600_000, 43_200_000, 86_400_000, 172_800_000,
  604_800_000, 1_209_600_000,
];

/** Tick offsets (ms from the start), about one per 100 px. */
export function niceTicks(spanMs: number, plotWidth: number): number[] {
  const wanted = Math.max(2, Math.floor(plotWidth / 100));
  const step =
    TICK_STEPS_MS.find((s) => spanMs / s <= wanted) ??
    TICK_STEPS_MS[TICK_STEPS_MS.length - 1]!;
  const ticks: number[] = [];
  for (let t = 0; t <= spanMs + 1e-9; t += step) ticks.push(t);
  if (ticks.length < 2) ticks.push(step);
  return ticks;
}

/** A tick label for an offset, in the unit that suits the tick step. */
export function formatTick(ms: number, stepMs: number): string {
  if (stepMs < 1000) {
    const decimals = Math.max(0, Math.ceil(-Math.log10(stepMs / 1000) - 1e-9));
    return `${(ms / 1000).toFixed(decimals)} s`;
  }
  if (stepMs < 60_000) return `${ms / 1000} s`;
  if (stepMs < 3_600_000) {
    const min = Math.floor(ms / 60_000);
    const s = Math.round((ms % 60_000) / 1000);
    return s === 0 ? `${min} min` : `${min}:${String(s).padStart(2, "0")}`;
  }
  if (stepMs < 86_400_000) {
    const h = Math.floor(ms / 3_600_000);
    const m = Math.round((ms % 3_600_000) / 60_000);
    return m === 0 ? `${h} h` : `${h}:${String(m).padStart(2, "0")} h`;
  }
  const d = Math.floor(ms / 86_400_000);
  const h = Math.round((ms % 86_400_000) / 3_600_000);
  return h === 0 ? `${d} d` : `${d} d ${h} h`;
}

/** A duration in words: "20.0 s", "3.5 min", "2.0 h", "30.0 days". */
export function formatDuration(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 120_000) return `${(ms / 1000).toFixed(1)} s`;
  if (ms < 7_200_000) return `${(ms / 60_000).toFixed(1)} min`;
  if (ms < 172_800_000) return `${(ms / 3_600_000).toFixed(1)} h`;
  return `${(ms / 86_400_000).toFixed(1)} days`;
}

function formatOffset(ms: number): string {
  return `${(ms / 1000).toFixed(3)} s`;
}

function typeOrder(t: WorkerType): number {
  return t === "reindeer" ? 0 : 1;
}

function round(v: number): number {
  return Math.round(v * 100) / 100;
}

function fmtInt(n: number): string {
  return n.toLocaleString("en-US");
}

function plural(n: number, one: string, many: string): string {
  return `${fmtInt(n)} ${n === 1 ? one : many}`;
}

function approxTextWidth(s: string, size: number): number {
  return s.length * size * 0.58;
}

export function esc(s: string): string {
  return s
    .replace(/&/g, "&amp;")
    .replace(/</g, "&lt;")
    .replace(/>/g, "&gt;")
    .replace(/"/g, "&quot;");
}

function text(
  x: number,
  y: number,
  content: string,
  o: { size: number; weight?: string; anchor?: string; fill?: string },
): string {
  return (
    `<text x="${round(x)}" y="${round(y)}" font-size="${o.size}"` +
    (o.weight ? ` font-weight="${o.weight}"` : "") +
    (o.anchor ? ` text-anchor="${o.anchor}"` : "") +
    ` fill="${o.fill ?? TIMELINE_COLORS.text}">${esc(content)}</text>`
  );
}

function rect(
  x: number,
  y: number,
  w: number,
  h: number,
  fill: string,
  o: { state?: string; from?: number; to?: number; title?: string; stroke?: string } = {},
): string {
  const attrs =
    `x="${round(x)}" y="${round(y)}" width="${round(Math.max(0, w))}" height="${round(h)}" fill="${fill}"` +
    (o.stroke ? ` stroke="${o.stroke}" stroke-width="1"` : "") +
    (o.state ? ` data-state="${o.state}" data-from="${o.from}" data-to="${o.to}"` : "");
  return o.title ? `<rect ${attrs}><title>${esc(o.title)}</title></rect>` : `<rect ${attrs}/>`;
}

function line(x1: number, y1: number, x2: number, y2: number, stroke: string): string {
  return `<line x1="${round(x1)}" y1="${round(y1)}" x2="${round(x2)}" y2="${round(y2)}" stroke="${stroke}" stroke-width="1"/>`;
}

// ---------------------------------------------------------------------------
// Recording a run from snapshots.

/** What `snapshot(t)` in test/invariants.ts returns. */
export type TimelineSnapshot = {
  now: number;
  np: Pick<Doc<"northPole">, "generation" | "population" | "santa"> | null;
  workers: Pick<Doc<"workers">, "workerType" | "number" | "state" | "since">[];
};

/**
 * Builds a TimelineInput from successive snapshots. Each change is dated by
 * the `since` of Santa or the worker (when it entered its state), so a change
 * is placed right even when snapshots are sparse; a state entered and left
 * between two snapshots is not seen. A new generation (a reseed) starts the
 * recording over.
 */
export class TimelineRecorder {
  private generation: number | null = null;
  private start = 0;
  private end = 0;
  private population: Population = { reindeer: 0, elves: 0, elfGroupSize: 1 };
  private santa: TimelineInput["santa"] = [];
  /** When Santa's current activity (or group) began, as last seen. */
  private santaSince: number | null = null;
  private workers = new Map<string, TimelineInput["workers"][number]>();

  observe(snapshot: TimelineSnapshot): void {
    const { now, np } = snapshot;
    if (np === null) return;
    if (np.generation !== this.generation) {
      this.generation = np.generation;
      this.start = now;
      this.end = now;
      this.santa = [];
      this.santaSince = null;
      this.workers = new Map();
    }
    this.population = { ...np.population };
    this.end = Math.max(this.end, now);
    const lastSanta = this.santa[this.santa.length - 1];
    if (lastSanta === undefined) {
      this.santa.push({ at: this.start, activity: np.santa.activity });
    } else if (
      lastSanta.activity !== np.santa.activity ||
      // A new group of the same kind: Santa released one and took the next
      // in the same transaction.
      (np.santa.activity !== "sleeping" && np.santa.since !== this.santaSince)
    ) {
      this.santa.push({
        at: clamp(np.santa.since, lastSanta.at, now),
        activity: np.santa.activity,
      });
    }
    this.santaSince = np.santa.since;
    for (const w of snapshot.workers) {
      const key = `${w.workerType}:${w.number}`;
      const known = this.workers.get(key);
      if (known === undefined) {
        this.workers.set(key, {
          workerType: w.workerType,
          number: w.number,
          changes: [{ at: clamp(w.since, this.start, now), state: w.state }],
        });
        continue;
      }
      const last = known.changes[known.changes.length - 1]!;
      if (last.state !== w.state) {
        known.changes.push({ at: clamp(w.since, last.at, now), state: w.state });
      }
    }
  }

  /** Whether anything was observed. */
  get empty(): boolean {
    return this.generation === null;
  }

  /** The run so far; `end` defaults to the latest snapshot's time. */
  toInput(end?: number): TimelineInput {
    return {
      start: this.start,
      end: Math.max(this.start, end ?? this.end),
      population: { ...this.population },
      santa: this.santa.map((s) => ({ ...s })),
      workers: [...this.workers.values()]
        .sort(
          (a, b) =>
            typeOrder(a.workerType) - typeOrder(b.workerType) ||
            a.number - b.number,
        )
        .map((w) => ({ ...w, changes: w.changes.map((c) => ({ ...c })) })),
    };
  }
}

function clamp(v: number, lo: number, hi: number): number {
  return Math.min(hi, Math.max(lo, v));
}
