import { describe, expect, test } from "vitest";
import {
  CHAOS_SPEC,
  LOG_SPEC,
  RETENTION_SPEC,
  SEED_SPEC,
  SPEEDS_SPEC,
  chaosStrikes,
  checkArgs,
  checkPopulation,
  checkSafety,
  checkTransition,
  chooseGroup,
  describeSpec,
  dispatchLines,
  drawDelay,
  groupSize,
  nextState,
  MAX_MEMBER_LINES,
} from "./rules";

const classic = { reindeer: 9, elves: 10, elfGroupSize: 3 };

describe("chooseGroup", () => {
  test("Santa sleeps until a group is ready", () => {
    expect(chooseGroup("sleeping", { reindeer: 8, elves: 2 }, classic)).toBe(null);
  });
  test("all reindeer ready: the reindeer", () => {
    expect(chooseGroup("sleeping", { reindeer: 9, elves: 0 }, classic)).toBe("reindeer");
  });
  test("reindeer have priority over a ready group of elves", () => {
    expect(chooseGroup("sleeping", { reindeer: 9, elves: 10 }, classic)).toBe("reindeer");
  });
  test("G elves ready and not all reindeer: the elves", () => {
    expect(chooseGroup("sleeping", { reindeer: 8, elves: 3 }, classic)).toBe("elves");
  });
  test("a busy Santa takes nobody", () => {
    expect(chooseGroup("meeting", { reindeer: 9, elves: 10 }, classic)).toBe(null);
    expect(chooseGroup("delivering", { reindeer: 9, elves: 10 }, classic)).toBe(null);
  });
  test("other populations: 4 reindeer, elves in pairs", () => {
    const p = { reindeer: 4, elves: 7, elfGroupSize: 2 };
    expect(chooseGroup("sleeping", { reindeer: 3, elves: 2 }, p)).toBe("elves");
    expect(chooseGroup("sleeping", { reindeer: 3, elves: 1 }, p)).toBe(null);
    expect(groupSize("elves", p)).toBe(2);
    expect(groupSize("reindeer", p)).toBe(4);
  });
});

describe("the worker cycle", () => {
  test("ready -> working -> vacationing -> ready", () => {
    expect(nextState("ready")).toBe("working");
    expect(nextState("working")).toBe("vacationing");
    expect(nextState("vacationing")).toBe("ready");
  });
  test("a skipped state is a violation, staying put is not", () => {
    expect(checkTransition("ready", "vacationing")).toMatch(/skipped/);
    expect(checkTransition("working", "ready")).toMatch(/skipped/);
    expect(checkTransition("vacationing", "working")).toMatch(/skipped/);
    expect(checkTransition("ready", "ready")).toBe(null);
    expect(checkTransition("working", "vacationing")).toBe(null);
  });
});

describe("delays and chaos", () => {
  test("a delay is an integer from 1 to max", () => {
    expect(drawDelay(1500, () => 0)).toBe(1);
    expect(drawDelay(1500, () => 0.999999)).toBe(1500);
    expect(drawDelay(1, () => 0.5)).toBe(1);
  });
  test("chaos strikes at its rate, never at 0", () => {
    expect(chaosStrikes(0, () => 0)).toBe(false);
    expect(chaosStrikes(0.25, () => 0.24)).toBe(true);
    expect(chaosStrikes(0.25, () => 0.25)).toBe(false);
    expect(chaosStrikes(1, () => 0.999)).toBe(true);
  });
});

describe("the classic lines", () => {
  test("reindeer", () => {
    expect(dispatchLines("reindeer", [8, 1])).toEqual([
      "----------",
      "Ho! Ho! Ho! let's deliver toys",
      "Reindeer 8 delivering toys",
      "Reindeer 1 delivering toys",
    ]);
  });
  test("elves", () => {
    expect(dispatchLines("elves", [3])).toEqual([
      "----------",
      "Ho! Ho! Ho! let's meet in my study",
      "Elf 3 meeting in the study",
    ]);
  });
  test("a huge group is summarized", () => {
    const numbers = Array.from({ length: 1000 }, (_, i) => i + 1);
    const lines = dispatchLines("reindeer", numbers);
    expect(lines).toHaveLength(2 + MAX_MEMBER_LINES + 1);
    expect(lines.at(-1)).toBe(`... and ${1000 - MAX_MEMBER_LINES} more`);
  });
});

describe("checkArgs", () => {
  test("good input has no problems", () => {
    expect(checkArgs({}, SEED_SPEC)).toEqual([]);
    expect(checkArgs({ reindeer: 1000, elves: 10000, elfGroupSize: 1 }, SEED_SPEC)).toEqual([]);
    expect(checkArgs({ failureRate: 0 }, CHAOS_SPEC)).toEqual([]);
    expect(checkArgs({ failureRate: 1 }, CHAOS_SPEC)).toEqual([]);
  });
  test.each([
    [{ reindeer: 0 }, /reindeer must be an integer from 1 to 1000, got 0/],
    [{ reindeer: -1 }, /got -1/],
    [{ reindeer: 2.5 }, /got 2.5/],
    [{ reindeer: NaN }, /got NaN/],
    [{ reindeer: Infinity }, /got Infinity/],
    [{ reindeer: 1001 }, /got 1001/],
    [{ reindeer: "9" }, /got "9"/],
    [{ reindeer: null }, /got null/],
    [{ elves: 10001 }, /elves must be an integer from 1 to 10000/],
    [{ elfGroupSize: 0 }, /elfGroupSize must be/],
    [{ reindeers: 9 }, /unknown field "reindeers"/],
  ])("seed %o is refused", (args, message) => {
    const problems = checkArgs(args as Record<string, unknown>, SEED_SPEC);
    expect(problems.join("; ")).toMatch(message);
  });
  test.each([
    [{ failureRate: -0.1 }],
    [{ failureRate: 1.5 }],
    [{ failureRate: NaN }],
    [{ failureRate: -Infinity }],
    [{ failureRate: "0.2" }],
  ])("chaos %o is refused", (args) => {
    expect(checkArgs(args as Record<string, unknown>, CHAOS_SPEC)).toHaveLength(1);
  });
  test("a required field must be given", () => {
    expect(checkArgs({}, CHAOS_SPEC)).toEqual(["failureRate is required"]);
    expect(checkArgs({ failureRate: undefined }, CHAOS_SPEC)).toEqual(["failureRate is required"]);
    expect(checkArgs({}, RETENTION_SPEC)).toEqual(["events is required"]);
  });
  test("describeSpec says what is optional and what is required", () => {
    expect(describeSpec({})).toBe("no arguments");
    expect(describeSpec(CHAOS_SPEC)).toBe("failureRate (a number from 0 to 1), required");
    expect(describeSpec(LOG_SPEC)).toBe("limit (an integer from 1 to 500), optional");
    expect(describeSpec(SPEEDS_SPEC)).toBe(
      "maxWorkMs (an integer from 1 to 3600000), maxVacationMs (an integer from 1 to 3600000), each optional",
    );
    expect(
      describeSpec({ a: { kind: "fraction", required: true }, b: { kind: "fraction" } }),
    ).toBe("a (a number from 0 to 1, required), b (a number from 0 to 1, optional)");
  });
  test("speeds have a documented maximum", () => {
    expect(checkArgs({ maxWorkMs: 3_600_001 }, SPEEDS_SPEC)[0]).toMatch(
      /maxWorkMs must be an integer from 1 to 3600000/,
    );
  });
  test("a group must be formable", () => {
    expect(checkPopulation({ reindeer: 9, elves: 2, elfGroupSize: 3 })[0]).toMatch(
      /elves \(2\) must be at least elfGroupSize \(3\)/,
    );
    expect(checkPopulation({ reindeer: 9, elves: 3, elfGroupSize: 3 })).toEqual([]);
  });
});

describe("checkSafety", () => {
  const w = (workerType: "reindeer" | "elves", number: number, state: "ready" | "working" | "vacationing") => ({ workerType, number, state });
  test("a sleeping Santa with nobody working is safe", () => {
    expect(checkSafety({ activity: "sleeping", group: [] }, [w("elves", 1, "ready")], classic)).toEqual([]);
  });
  test("nobody works without Santa", () => {
    expect(checkSafety({ activity: "sleeping", group: [] }, [w("elves", 1, "working")], classic)[0]).toMatch(/while Santa sleeps/);
  });
  test("a group is never mixed", () => {
    const found = checkSafety(
      { activity: "meeting", group: [1, 2, 3] },
      [w("elves", 1, "working"), w("elves", 2, "working"), w("elves", 3, "working"), w("reindeer", 1, "working")],
      classic,
    );
    expect(found.join(";")).toMatch(/mixed group/);
  });
  test("a group has exactly its size", () => {
    const found = checkSafety({ activity: "meeting", group: [1, 2] }, [w("elves", 1, "working"), w("elves", 2, "working")], classic);
    expect(found[0]).toMatch(/with 2 workers, not 3/);
  });
  test("a worker outside Santa's group cannot work", () => {
    const found = checkSafety(
      { activity: "meeting", group: [1, 2, 3] },
      [w("elves", 1, "working"), w("elves", 2, "working"), w("elves", 4, "working")],
      classic,
    );
    expect(found.join(";")).toMatch(/elves 4 works outside Santa's group/);
  });
});
