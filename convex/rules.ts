/**
 * The rules of the North Pole as pure code: no `ctx`, no database. Everything
 * here is unit-tested on its own (rules.test.ts) and used by the actors.
 */

export type WorkerType = "reindeer" | "elves";
export type WorkerState = "ready" | "working" | "vacationing";
export type SantaActivity = "sleeping" | "delivering" | "meeting";

export const WORKER_TYPES: readonly WorkerType[] = ["reindeer", "elves"];
export const WORKER_STATES: readonly WorkerState[] = [
  "ready",
  "working",
  "vacationing",
];

/** Defaults of `sim:seed` and `sim:setSpeeds`. */
export const DEFAULTS = {
  reindeer: 9,
  elves: 10,
  elfGroupSize: 3,
  maxWorkMs: 1500,
  maxVacationMs: 1500,
  failureRate: 0,
} as const;

/** Documented maxima: past these a command is refused. */
export const LIMITS = {
  reindeer: { min: 1, max: 1000 },
  elves: { min: 1, max: 10_000 },
  elfGroupSize: { min: 1, max: 1000 },
  maxWorkMs: { min: 1, max: 3_600_000 },
  maxVacationMs: { min: 1, max: 3_600_000 },
  limit: { min: 1, max: 500 },
  logRetention: { min: 10, max: 10_000 },
} as const;

export type Counts = Record<WorkerType, Record<WorkerState, number>>;

export function emptyCounts(): Counts {
  return {
    reindeer: { ready: 0, working: 0, vacationing: 0 },
    elves: { ready: 0, working: 0, vacationing: 0 },
  };
}

export type Population = {
  reindeer: number;
  elves: number;
  elfGroupSize: number;
};

/**
 * Who goes next (rules 2 and 3). Santa, when free, takes the reindeer if all
 * of them are ready, otherwise a group of elves if at least G are ready,
 * otherwise he sleeps. Returns the kind of group to dispatch, or null.
 */
export function chooseGroup(
  santa: SantaActivity,
  ready: Record<WorkerType, number>,
  population: Population,
): WorkerType | null {
  if (santa !== "sleeping") return null;
  if (ready.reindeer >= population.reindeer) return "reindeer";
  if (ready.elves >= population.elfGroupSize) return "elves";
  return null;
}

/** How many workers of a kind a dispatch takes. */
export function groupSize(kind: WorkerType, population: Population): number {
  return kind === "reindeer" ? population.reindeer : population.elfGroupSize;
}

/** What Santa does with a group of this kind. */
export function activityFor(kind: WorkerType): SantaActivity {
  return kind === "reindeer" ? "delivering" : "meeting";
}

/** The kind of group Santa works with while doing this, if any. */
export function kindOf(activity: SantaActivity): WorkerType | null {
  if (activity === "delivering") return "reindeer";
  if (activity === "meeting") return "elves";
  return null;
}

/**
 * The legal transitions of a worker (rule 8): ready -> working -> vacationing
 * -> ready. A worker never skips a state and never stays put in a step.
 */
export function nextState(state: WorkerState): WorkerState {
  switch (state) {
    case "ready":
      return "working";
    case "working":
      return "vacationing";
    case "vacationing":
      return "ready";
  }
}

/** A random delay "up to" max: an integer in 1..max. */
export function drawDelay(maxMs: number, random: () => number): number {
  return 1 + Math.floor(random() * maxMs);
}

/**
 * Whether this step is one that chaos mode makes fail. The draw is made inside
 * the step itself, so no code path knows in advance that a failure comes.
 */
export function chaosStrikes(failureRate: number, random: () => number) {
  return failureRate > 0 && random() < failureRate;
}

/** Member lines printed per dispatch at the most; the rest are summarized. */
export const MAX_MEMBER_LINES = 50;

/** The classic lines of a dispatch (Trono's and Peyton Jones's output). */
export function dispatchLines(kind: WorkerType, numbers: number[]): string[] {
  const header =
    kind === "reindeer"
      ? "Ho! Ho! Ho! let's deliver toys"
      : "Ho! Ho! Ho! let's meet in my study";
  const shown = numbers.slice(0, MAX_MEMBER_LINES);
  const lines = shown.map((n) =>
    kind === "reindeer"
      ? `Reindeer ${n} delivering toys`
      : `Elf ${n} meeting in the study`,
  );
  if (numbers.length > shown.length) {
    lines.push(`... and ${numbers.length - shown.length} more`);
  }
  return ["----------", header, ...lines];
}

/** The line written when Santa lets a group go. */
export function releaseLine(kind: WorkerType, size: number): string {
  return kind === "reindeer"
    ? `Santa unharnesses the ${size} reindeer: back on vacation`
    : `Santa sees the ${size} elves out of his study: back to work`;
}

// ---------------------------------------------------------------------------
// Input validation for the operator commands. Convex validators check types;
// these check what the types cannot say (integers, ranges, NaN, infinities,
// unknown fields) and produce one message that says what is allowed.

export type FieldRule = (
  | { kind: "integer"; min: number; max: number }
  | { kind: "fraction" }
) & {
  /** Must be given (fields are optional unless they say so). */
  required?: true;
};

export type CommandSpec = Record<string, FieldRule>;

export const SEED_SPEC: CommandSpec = {
  reindeer: { kind: "integer", ...LIMITS.reindeer },
  elves: { kind: "integer", ...LIMITS.elves },
  elfGroupSize: { kind: "integer", ...LIMITS.elfGroupSize },
};
export const SPEEDS_SPEC: CommandSpec = {
  maxWorkMs: { kind: "integer", ...LIMITS.maxWorkMs },
  maxVacationMs: { kind: "integer", ...LIMITS.maxVacationMs },
};
export const CHAOS_SPEC: CommandSpec = {
  failureRate: { kind: "fraction", required: true },
};
export const RETENTION_SPEC: CommandSpec = {
  events: { kind: "integer", ...LIMITS.logRetention, required: true },
};
export const LOG_SPEC: CommandSpec = {
  limit: { kind: "integer", ...LIMITS.limit },
};

export function describeRule(rule: FieldRule): string {
  return rule.kind === "integer"
    ? `an integer from ${rule.min} to ${rule.max}`
    : "a number from 0 to 1";
}

/**
 * What a command takes, for its refusals: "no arguments", or each field with
 * what it allows, and which are optional.
 */
export function describeSpec(spec: CommandSpec): string {
  const entries = Object.entries(spec);
  if (entries.length === 0) return "no arguments";
  const required = entries.filter(([, rule]) => rule.required).length;
  const mixed = required > 0 && required < entries.length;
  const fields = entries.map(
    ([name, rule]) =>
      `${name} (${describeRule(rule)}${mixed ? (rule.required ? ", required" : ", optional") : ""})`,
  );
  if (mixed) return fields.join(", ");
  const all = required > 0 ? "required" : "optional";
  return `${fields.join(", ")}, ${entries.length === 1 ? all : `each ${all}`}`;
}

/**
 * Checks `args` against `spec`. Returns the list of problems, empty when the
 * input is good. Fields are optional unless their rule is `required`.
 */
export function checkArgs(
  args: Record<string, unknown>,
  spec: CommandSpec,
): string[] {
  const problems: string[] = [];
  for (const [name, rule] of Object.entries(spec)) {
    if (rule.required && args[name] === undefined) {
      problems.push(`${name} is required`);
    }
  }
  for (const [name, value] of Object.entries(args)) {
    const rule = spec[name];
    if (rule === undefined) {
      problems.push(`unknown field "${name}"`);
      continue;
    }
    if (value === undefined) continue;
    if (typeof value !== "number") {
      problems.push(`${name} must be ${describeRule(rule)}, got ${show(value)}`);
      continue;
    }
    const ok =
      rule.kind === "integer"
        ? Number.isInteger(value) && value >= rule.min && value <= rule.max
        : Number.isFinite(value) && value >= 0 && value <= 1;
    if (!ok) {
      problems.push(`${name} must be ${describeRule(rule)}, got ${show(value)}`);
    }
  }
  return problems;
}

function show(value: unknown): string {
  if (typeof value === "number") return String(value);
  if (typeof value === "bigint") return `${value}n`;
  try {
    return JSON.stringify(value) ?? String(value);
  } catch {
    return String(value);
  }
}

/** Cross-field rule of `sim:seed`: a group must be formable. */
export function checkPopulation(p: Population): string[] {
  return p.elves < p.elfGroupSize
    ? [
        `elves (${p.elves}) must be at least elfGroupSize (${p.elfGroupSize}), or no group of elves could ever form`,
      ]
    : [];
}

// ---------------------------------------------------------------------------
// The safety rules of the spec (3, 6 and 8), as a checker over a snapshot of
// the North Pole. Tests and the simulator run it after every step.

export type WorkerSnapshot = {
  workerType: WorkerType;
  number: number;
  state: WorkerState;
};

export type SantaSnapshot = {
  activity: SantaActivity;
  group: number[];
};

export function checkSafety(
  santa: SantaSnapshot,
  workers: WorkerSnapshot[],
  population: Population,
): string[] {
  const violations: string[] = [];
  const working = workers.filter((w) => w.state === "working");
  const kind = kindOf(santa.activity);
  if (kind === null) {
    if (working.length > 0) {
      violations.push(
        `${working.length} workers are working while Santa sleeps`,
      );
    }
    return violations;
  }
  const wrongKind = working.filter((w) => w.workerType !== kind);
  if (wrongKind.length > 0) {
    violations.push(
      `mixed group: Santa is ${santa.activity} but ${wrongKind.length} ${wrongKind[0]!.workerType} are working`,
    );
  }
  const expected = groupSize(kind, population);
  if (working.length !== expected) {
    violations.push(
      `Santa is ${santa.activity} with ${working.length} workers, not ${expected}`,
    );
  }
  const members = new Set(santa.group);
  for (const w of working) {
    if (!members.has(w.number)) {
      violations.push(`${w.workerType} ${w.number} works outside Santa's group`);
    }
  }
  return violations;
}

/**
 * Rule 8 on one worker across two snapshots: it either stays in its state or
 * moves to the next one. Returns a violation or null.
 */
export function checkTransition(
  before: WorkerState,
  after: WorkerState,
): string | null {
  if (before === after || nextState(before) === after) return null;
  return `skipped a state: ${before} -> ${after}`;
}
