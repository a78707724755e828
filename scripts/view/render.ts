/**
 * The "North Pole command center" as text: four panels (on vacation, ready to
 * work, making presents with Santa, delivering presents) filled with a 🦌 or
 * 🧝 per worker, Santa's activity, rounds, speeds, chaos and the latest log
 * lines. Pure: it draws what `sim:status` and `sim:log` return, nothing else,
 * so the live view of a deployment (`npm run watch`) and of the offline
 * simulator (`npm run simulate -- --view`) are the same picture.
 */
import type { FunctionReturnType } from "convex/server";
import type { api } from "../../convex/_generated/api";
import { displayWidth, fit, truncate, wrapPieces } from "./text";

/** What the `sim:status` query returns. */
export type NorthPoleStatus = FunctionReturnType<typeof api.sim.status>;
/** `sim:status` of an existing North Pole. */
export type LiveStatus = Extract<NorthPoleStatus, { exists: true }>;
/** What the `sim:log` query returns: readable lines, newest first. */
export type LogLines = FunctionReturnType<typeof api.sim.log>;

export type RenderOptions = {
  /** Draw workers as 🦌 and 🧝; false draws R and E and uses ASCII only. */
  emoji: boolean;
  /** Terminal columns; every line fits in it. Default 80, at least 40. */
  width?: number;
  /** Log lines shown at the most (newest first). Default 8. */
  logLines?: number;
  /** Past this many workers in one panel, counts instead of icons. Default 60. */
  maxIcons?: number;
  /** Lines added under the picture (e.g. "Ctrl-C to quit"). */
  footer?: string[];
  /** Title of the picture. Default "North Pole command center". */
  title?: string;
};

export type PanelKey = "vacation" | "ready" | "study" | "sleigh";

/** One of the four panels, before it is boxed. */
export type Panel = {
  key: PanelKey;
  title: string;
  /** Content lines, each at most `innerWidth` cells wide. */
  lines: string[];
  /** Counts, shown in the bottom border. */
  note: string;
};

type Glyphs = {
  reindeer: string;
  elf: string;
  santa: string;
  /** Cells an icon takes, its trailing space included. */
  cell: number;
  box: { tl: string; tr: string; bl: string; br: string; h: string; v: string };
  barFull: string;
  barEmpty: string;
  ellipsis: string;
  sep: string;
  upTo: string;
  icons: Record<PanelKey | "title" | "sleeping", string>;
};

const EMOJI: Glyphs = {
  reindeer: "🦌",
  elf: "🧝",
  santa: "🎅",
  cell: 2,
  box: { tl: "┌", tr: "┐", bl: "└", br: "┘", h: "─", v: "│" },
  barFull: "█",
  barEmpty: "░",
  ellipsis: "…",
  sep: " · ",
  upTo: "≤",
  icons: {
    title: "🎄 ",
    vacation: "🌴 ",
    ready: "🔔 ",
    study: "🎁 ",
    sleigh: "🛷 ",
    sleeping: " 💤",
  },
};

const PLAIN: Glyphs = {
  reindeer: "R ",
  elf: "E ",
  santa: "S ",
  cell: 2,
  box: { tl: "+", tr: "+", bl: "+", br: "+", h: "-", v: "|" },
  barFull: "#",
  barEmpty: ".",
  ellipsis: "...",
  sep: " | ",
  upTo: "<=",
  icons: {
    title: "",
    vacation: "",
    ready: "",
    study: "",
    sleigh: "",
    sleeping: "",
  },
};

export const PANEL_TITLES: Record<PanelKey, string> = {
  vacation: "On vacation",
  ready: "Ready to work",
  study: "Making presents with Santa",
  sleigh: "Delivering presents",
};

const DEFAULT_WIDTH = 80;
const MIN_WIDTH = 40;
/** From this width on, the panels go two by two. */
const TWO_COLUMNS_FROM = 70;
/** Group member lines shown at the most in a panel. */
const MAX_MEMBER_LINES = 3;

/** Renders the whole picture; every line fits in `options.width` cells. */
export function renderNorthPole(
  status: NorthPoleStatus,
  logLines: LogLines,
  options: RenderOptions,
): string {
  const g = options.emoji ? EMOJI : PLAIN;
  const width = Math.max(MIN_WIDTH, Math.floor(options.width ?? DEFAULT_WIDTH));
  const title = g.icons.title + (options.title ?? "North Pole command center");
  const out: string[] = [];

  if (!status.exists) {
    out.push(`${title}${g.sep}no North Pole`);
    out.push("");
    out.push("There is no North Pole in this deployment yet.");
    out.push(status.hint);
  } else {
    out.push(
      ...wrapPieces(
        [title, status.running ? "running" : "STOPPED", `generation ${status.generation}`],
        width,
        g.sep,
        g.ellipsis,
      ),
    );
    out.push(...header(status, g, width));
    out.push("");
    const panels = northPolePanels(status, {
      emoji: options.emoji,
      maxIcons: options.maxIcons,
      innerWidth: innerWidthFor(width),
    });
    out.push(...layoutPanels(panels, width, g));
  }

  const limit = Math.max(0, options.logLines ?? 8);
  if (limit > 0) {
    out.push("");
    out.push("Latest events, newest first:");
    if (logLines.length === 0) out.push("  (no events yet)");
    for (const line of logLines.slice(0, limit)) out.push(`  ${line}`);
  }
  if (options.footer && options.footer.length > 0) {
    out.push("");
    out.push(...options.footer);
  }
  return out.map((line) => truncate(line, width, g.ellipsis)).join("\n");
}

function header(s: LiveStatus, g: Glyphs, width: number): string[] {
  let santa = `${g.santa.trimEnd()} Santa is ${s.santa}`;
  if (s.santaActivity === "sleeping") santa += g.icons.sleeping;
  const santaPieces = [santa];
  if (s.group !== null) {
    santaPieces.push(
      s.group.dueAt === null
        ? `(since ${clock(s.group.since)})`
        : `(since ${clock(s.group.since)}, until ${clock(s.group.dueAt)})`,
    );
  }
  const p = s.population;
  const chaos =
    s.chaos.failureRate === 0
      ? "Chaos: off"
      : `Chaos: ${percent(s.chaos.failureRate)} of actor steps fail`;
  const faults =
    s.chaos.failures > 0 || s.chaos.repairs > 0
      ? ` (${plural(s.chaos.failures, "failure", "failures")}, ${plural(s.chaos.repairs, "repair", "repairs")})`
      : "";
  const facts = [
    `Population: ${plural(p.reindeer, "reindeer", "reindeer")}, ${plural(p.elves, "elf", "elves")} in groups of ${p.elfGroupSize}`,
    `Rounds: ${plural(s.rounds.reindeer, "delivery", "deliveries")}, ${plural(s.rounds.elves, "meeting", "meetings")}`,
    `Speeds: work ${g.upTo} ${s.speeds.maxWorkMs} ms, vacation ${g.upTo} ${s.speeds.maxVacationMs} ms`,
    chaos + faults,
  ];
  if (s.seeding !== null) facts.push(`Seeding: ${s.seeding}`);
  return [
    ...wrapPieces(santaPieces, width, " ", g.ellipsis),
    ...wrapPieces(facts, width, g.sep, g.ellipsis),
  ];
}

/** Content width inside a panel's box for a picture `width` wide. */
function innerWidthFor(width: number): number {
  const panelWidth = width >= TWO_COLUMNS_FROM ? Math.floor(width / 2) : width;
  return panelWidth - 4;
}

/**
 * The four panels' titles and content lines, in the order vacation, ready,
 * study, sleigh. Exported for tests and for other layouts.
 */
export function northPolePanels(
  s: LiveStatus,
  options: { emoji: boolean; innerWidth: number; maxIcons?: number },
): Panel[] {
  const g = options.emoji ? EMOJI : PLAIN;
  const iw = Math.max(10, options.innerWidth);
  const maxIcons = options.maxIcons ?? 60;
  const perRow = Math.max(1, Math.floor(iw / g.cell));
  const pop = s.population;

  /** Icons of several kinds, each kind from a new row; or counts and bars. */
  const crowd = (
    groups: { glyph: string; count: number; noun: [string, string]; of: number }[],
  ): string[] => {
    const total = groups.reduce((sum, x) => sum + x.count, 0);
    const lines: string[] = [];
    for (const x of groups) {
      if (x.count === 0) continue;
      if (total <= maxIcons) {
        for (let left = x.count; left > 0; left -= perRow) {
          lines.push(x.glyph.repeat(Math.min(perRow, left)).trimEnd());
        }
      } else {
        lines.push(summaryLine(g, x.glyph, x.count, x.noun, x.of, iw));
      }
    }
    return lines;
  };
  const reindeer = (count: number) => ({
    glyph: g.reindeer,
    count,
    noun: ["reindeer", "reindeer"] as [string, string],
    of: pop.reindeer,
  });
  const elves = (count: number) => ({
    glyph: g.elf,
    count,
    noun: ["elf", "elves"] as [string, string],
    of: pop.elves,
  });
  const both = (r: number, e: number) =>
    `${plural(r, "reindeer", "reindeer")}, ${plural(e, "elf", "elves")}`;

  const vacation: Panel = {
    key: "vacation",
    title: g.icons.vacation + PANEL_TITLES.vacation,
    lines: crowd([reindeer(s.reindeer.vacationing), elves(s.elves.vacationing)]),
    note: both(s.reindeer.vacationing, s.elves.vacationing),
  };
  if (vacation.lines.length === 0) vacation.lines.push("Nobody is on vacation.");

  const ready: Panel = {
    key: "ready",
    title: g.icons.ready + PANEL_TITLES.ready,
    lines: crowd([reindeer(s.reindeer.ready), elves(s.elves.ready)]),
    note: both(s.reindeer.ready, s.elves.ready),
  };
  if (ready.lines.length === 0) ready.lines.push("Nobody is waiting.");

  /** Santa's line in the panel of his group: who he works with. */
  const withSanta = (): string[] => {
    const members = s.group?.members ?? [];
    const lines =
      members.length === 0
        ? [`${g.santa.trimEnd()} Santa`]
        : wrapPieces(
            [`${g.santa.trimEnd()} with ${members[0]}`, ...members.slice(1)],
            iw,
            ", ",
            g.ellipsis,
          );
    if (lines.length > MAX_MEMBER_LINES) {
      lines.length = MAX_MEMBER_LINES;
      lines[MAX_MEMBER_LINES - 1] = truncate(
        `${lines[MAX_MEMBER_LINES - 1]} ${g.ellipsis}`,
        iw,
        g.ellipsis,
      );
    }
    return lines;
  };

  const study: Panel = {
    key: "study",
    title: g.icons.study + PANEL_TITLES.study,
    lines: crowd([elves(s.elves.working)]),
    note: plural(s.elves.working, "elf", "elves"),
  };
  if (s.santaActivity === "meeting") study.lines.push(...withSanta());
  if (study.lines.length === 0) {
    study.lines.push(
      s.santaActivity === "delivering"
        ? "The study is empty: Santa is out."
        : "The study is empty.",
    );
  }

  const sleigh: Panel = {
    key: "sleigh",
    title: g.icons.sleigh + PANEL_TITLES.sleigh,
    lines: crowd([reindeer(s.reindeer.working)]),
    note: plural(s.reindeer.working, "reindeer", "reindeer"),
  };
  if (s.santaActivity === "delivering") sleigh.lines.push(...withSanta());
  if (sleigh.lines.length === 0) sleigh.lines.push("The sleigh is in the stable.");

  return [vacation, ready, study, sleigh];
}

function summaryLine(
  g: Glyphs,
  glyph: string,
  count: number,
  noun: [string, string],
  of: number,
  iw: number,
): string {
  const label = `${glyph.trimEnd()} ${count.toLocaleString("en-US")} ${count === 1 ? noun[0] : noun[1]}`;
  const share = of > 0 ? count / of : 0;
  const pct = `${Math.round(share * 100)}%`;
  const barWidth = iw - displayWidth(label) - displayWidth(pct) - 2;
  if (barWidth < 5) return truncate(`${label} ${pct}`, iw, g.ellipsis);
  const full = Math.min(barWidth, Math.round(share * barWidth));
  return `${label} ${g.barFull.repeat(full)}${g.barEmpty.repeat(barWidth - full)} ${pct}`;
}

/** Boxes the panels, two by two when the width allows, else one under another. */
function layoutPanels(panels: Panel[], width: number, g: Glyphs): string[] {
  const twoColumns = width >= TWO_COLUMNS_FROM;
  const panelWidth = twoColumns ? Math.floor(width / 2) : width;
  const boxes = panels.map((p) => box(p, panelWidth, g));
  const out: string[] = [];
  if (!twoColumns) {
    for (const b of boxes) out.push(...b);
    return out;
  }
  for (let i = 0; i < boxes.length; i += 2) {
    const left = boxes[i]!;
    const right = boxes[i + 1] ?? [];
    // Both panels of a row get the taller one's height.
    const height = Math.max(left.length, right.length);
    const l = stretch(left, height, panelWidth, g);
    const r = stretch(right, height, panelWidth, g);
    for (let k = 0; k < height; k++) out.push(l[k]! + r[k]!);
  }
  return out;
}

function box(p: Panel, w: number, g: Glyphs): string[] {
  const iw = w - 4;
  const h = g.box.h;
  const title = truncate(p.title, w - 6, g.ellipsis);
  const lines = [
    `${g.box.tl}${h} ${title} ${h.repeat(Math.max(0, w - 5 - displayWidth(title)))}${g.box.tr}`,
  ];
  for (const line of p.lines) lines.push(`${g.box.v} ${fit(line, iw, g.ellipsis)} ${g.box.v}`);
  const note = truncate(p.note, w - 6, g.ellipsis);
  lines.push(
    `${g.box.bl}${h.repeat(Math.max(0, w - 5 - displayWidth(note)))} ${note} ${h}${g.box.br}`,
  );
  return lines;
}

/** Adds empty content rows above a box's bottom border up to `height`. */
function stretch(lines: string[], height: number, w: number, g: Glyphs): string[] {
  if (lines.length === 0) return Array<string>(height).fill(" ".repeat(w));
  const out = lines.slice(0, -1);
  while (out.length < height - 1) out.push(`${g.box.v}${" ".repeat(w - 2)}${g.box.v}`);
  out.push(lines[lines.length - 1]!);
  return out;
}

/** A timestamp as the log prints it: HH:MM:SS.mmm (UTC). */
export function clock(ms: number): string {
  return new Date(ms).toISOString().slice(11, 23);
}

function plural(n: number, one: string, many: string): string {
  return `${n.toLocaleString("en-US")} ${n === 1 ? one : many}`;
}

function percent(fraction: number): string {
  return `${Math.round(fraction * 1000) / 10}%`;
}
