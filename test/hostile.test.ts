/**
 * Hostile input: every command refuses wrong types, NaN, infinities,
 * negatives, non-integers, values past the documented maxima and unknown
 * fields with a ConvexError that says what is allowed, and the state stays
 * byte-for-byte the same.
 */
import { beforeAll, afterAll, describe, expect, test, vi } from "vitest";
import { ConvexError } from "convex/values";
import { api, internal } from "../convex/_generated/api";
import { LIMITS } from "../convex/rules";
import { Driver, dumpState, newBackend, seedRandom, type Backend } from "./setup";

const wrongTypes: unknown[] = ["9", true, null, [1], { n: 1 }, BigInt(3)];
const badIntegers: unknown[] = [NaN, Infinity, -Infinity, -1, 0.5, 2.5, ...wrongTypes];

function integerCases(field: string, limits: { min: number; max: number }) {
  return [
    ...badIntegers.map((value) => ({ [field]: value })),
    { [field]: limits.min - 1 },
    { [field]: limits.max + 1 },
  ];
}

const commands = [
  {
    name: "sim:seed",
    fn: internal.sim.seed,
    cases: [
      ...integerCases("reindeer", LIMITS.reindeer),
      ...integerCases("elves", LIMITS.elves),
      ...integerCases("elfGroupSize", LIMITS.elfGroupSize),
      { elves: 3, elfGroupSize: 4 },
      { reindeer: 9, unknown: 1 },
    ],
    allowed: /Allowed: reindeer \(an integer from 1 to 1000\), elves \(an integer from 1 to 10000\), elfGroupSize \(an integer from 1 to 1000\)/,
  },
  {
    name: "sim:setSpeeds",
    fn: internal.sim.setSpeeds,
    cases: [
      ...integerCases("maxWorkMs", LIMITS.maxWorkMs),
      ...integerCases("maxVacationMs", LIMITS.maxVacationMs),
      { maxWorkMs: 100, fast: true },
    ],
    allowed: /Allowed: maxWorkMs \(an integer from 1 to 3600000\), maxVacationMs/,
  },
  {
    name: "sim:setChaos",
    fn: internal.sim.setChaos,
    cases: [
      ...[NaN, Infinity, -Infinity, -0.1, 1.1, 2, ...wrongTypes].map((failureRate) => ({ failureRate })),
      {},
      { failureRate: 0.2, extra: 0 },
    ],
    allowed: /Allowed: failureRate \(a number from 0 to 1\)/,
  },
  {
    name: "sim:setLogRetention",
    fn: internal.sim.setLogRetention,
    cases: [...integerCases("events", LIMITS.logRetention), {}],
    allowed: /Allowed: events \(an integer from 10 to 10000\)/,
  },
  {
    name: "sim:start",
    fn: internal.sim.start,
    cases: [{ speed: 1 }, { reindeer: 9 }],
    allowed: /Allowed: no arguments/,
  },
  {
    name: "sim:stop",
    fn: internal.sim.stop,
    cases: [{ now: true }],
    allowed: /Allowed: no arguments/,
  },
];

let t: Backend;
let driver: Driver;
beforeAll(async () => {
  vi.useFakeTimers();
  seedRandom(9);
  vi.spyOn(console, "log").mockImplementation(() => {});
  t = newBackend().t;
  await t.mutation(internal.sim.start, {});
  driver = new Driver(t, { watchdog: false });
  await driver.runFor(5_000);
});
afterAll(() => {
  driver.dispose();
  vi.useRealTimers();
  vi.restoreAllMocks();
});

function show(args: Record<string, unknown>) {
  return JSON.stringify(args, (_k, v) =>
    typeof v === "bigint" ? `${v}n` : typeof v === "number" && !Number.isFinite(v) ? String(v) : v,
  );
}

describe.each(commands)("$name", ({ name, fn, cases, allowed }) => {
  test.each(cases.map((args) => [show(args), args]))("refuses %s, changes nothing", async (_label, args) => {
    const before = await dumpState(t);
    const error = await t
      .mutation(fn as typeof internal.sim.seed, args as Record<string, unknown>)
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConvexError);
    const message = String((error as ConvexError<string>).data);
    expect(message).toMatch(new RegExp(`^${name} refused: `));
    expect(message).toMatch(allowed);
    expect(message).toMatch(/Nothing was changed\.$/);
    expect(await dumpState(t)).toEqual(before);
  });
});

test("sim:log refuses a bad limit with a ConvexError", async () => {
  for (const limit of [0, -1, 1.5, NaN, Infinity, 501, "5"]) {
    const error = await t.query(api.sim.log, { limit }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConvexError);
    expect(String((error as ConvexError<string>).data)).toMatch(/limit \(an integer from 1 to 500\)/);
  }
});

test("sim:status and sim:log refuse unknown fields with a ConvexError", async () => {
  const cases = [
    { q: api.sim.status, args: { verbose: true }, allowed: /^sim:status refused: .*Allowed: no arguments/ },
    { q: api.sim.log, args: { limit: 5, since: 0 }, allowed: /^sim:log refused: .*Allowed: limit/ },
  ];
  for (const { q, args, allowed } of cases) {
    const error = await t.query(q as typeof api.sim.log, args).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConvexError);
    expect(String((error as ConvexError<string>).data)).toMatch(allowed);
  }
});
