// @vitest-environment node
/**
 * The views of issue 5: the terminal renderer, the live screen, the
 * deployment lookup and `npm run watch` (against a fake Convex sync server),
 * and the timeline SVG (parsed as XML, and rendered in headless Chromium where
 * it is installed).
 */
import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { EventEmitter } from "node:events";
import { createServer, type AddressInfo } from "node:net";
import { DOMParser, type Document, type Element } from "@xmldom/xmldom";
import { WebSocketServer, type WebSocket } from "ws";
import { describe, expect, test } from "vitest";
import type { Snapshot } from "./invariants";
import {
  PANEL_TITLES,
  northPolePanels,
  renderNorthPole,
  type LiveStatus,
  type NorthPoleStatus,
} from "../scripts/view/render";
import { displayWidth } from "../scripts/view/text";
import {
  ESC,
  PLAIN_FRAME_SEPARATOR,
  createScreen,
  type ScreenProcess,
} from "../scripts/view/terminal";
import {
  findDeploymentUrl,
  loadDeploymentUrl,
  parseEnvFile,
} from "../scripts/view/deployment";
import {
  TIMELINE_COLORS,
  TimelineRecorder,
  formatTick,
  intervalsOf,
  niceTicks,
  renderTimelineSvg,
  stateShares,
  type TimelineInput,
  type TimelineSnapshot,
} from "../scripts/view/timeline";
import {
  findChromium,
  pngSize,
  withSvgPage,
} from "../scripts/view/chromium";
import { main as simulate, type CliIO } from "../scripts/simulate-cli";

const ROOT = join(import.meta.dirname, "..");
const EMOJI = /\p{Extended_Pictographic}/u;
const count = (text: string, what: string) => text.split(what).length - 1;

// ---------------------------------------------------------------------------
// The terminal picture.

const T0 = Date.UTC(2026, 11, 24, 20, 0, 1, 234);

/** A North Pole of 9 reindeer and 10 elves, Santa in the study with 3. */
const meeting: LiveStatus = {
  exists: true,
  running: true,
  santa: "meeting 3 elves in his study",
  santaActivity: "meeting",
  group: {
    kind: "elves",
    size: 3,
    members: ["Elf 3", "Elf 7", "Elf 9"],
    since: T0,
    dueAt: T0 + 866,
  },
  reindeer: { ready: 7, working: 0, vacationing: 2 },
  elves: { ready: 2, working: 3, vacationing: 5 },
  rounds: { reindeer: 4, elves: 11 },
  population: { reindeer: 9, elves: 10, elfGroupSize: 3 },
  seeding: null,
  speeds: { maxWorkMs: 1500, maxVacationMs: 1200 },
  chaos: { failureRate: 0.2, failures: 3, repairs: 2 },
  generation: 1,
};

const delivering: LiveStatus = {
  ...meeting,
  santa: "delivering toys with 9 reindeer",
  santaActivity: "delivering",
  group: {
    kind: "reindeer",
    size: 9,
    members: Array.from({ length: 9 }, (_, i) => `Reindeer ${i + 1}`),
    since: T0,
    dueAt: T0 + 1000,
  },
  reindeer: { ready: 0, working: 9, vacationing: 0 },
  elves: { ready: 4, working: 0, vacationing: 6 },
  chaos: { failureRate: 0, failures: 0, repairs: 0 },
};

const LOG = Array.from(
  { length: 12 },
  (_, i) => `20:00:01.${String(100 + i)} event line number ${i + 1}`,
);

/** Splits a one-column picture into its panels, by their top borders. */
function panelsOf(frame: string, emoji: boolean): Map<string, string> {
  const top = emoji ? "┌─ " : "+- ";
  const bottom = emoji ? "└" : "+-";
  const out = new Map<string, string>();
  let current: string | null = null;
  let body: string[] = [];
  for (const line of frame.split("\n")) {
    if (line.startsWith(top)) {
      const title = Object.values(PANEL_TITLES).find((t) => line.includes(t));
      current = title ?? line;
      body = [];
    } else if (current !== null && line.startsWith(bottom)) {
      out.set(current, body.join("\n") + "\n" + line);
      current = null;
    } else if (current !== null) {
      body.push(line);
    }
  }
  return out;
}

describe("renderNorthPole", () => {
  test("draws the four panels with a 🦌 or 🧝 per worker in each", () => {
    const frame = renderNorthPole(meeting, LOG, { emoji: true, width: 50 });
    const panels = panelsOf(frame, true);
    expect([...panels.keys()]).toEqual([
      PANEL_TITLES.vacation,
      PANEL_TITLES.ready,
      PANEL_TITLES.study,
      PANEL_TITLES.sleigh,
    ]);
    const icons = (title: string) => {
      const p = panels.get(title)!;
      return { reindeer: count(p, "🦌"), elves: count(p, "🧝"), santa: count(p, "🎅") };
    };
    expect(icons(PANEL_TITLES.vacation)).toEqual({ reindeer: 2, elves: 5, santa: 0 });
    expect(icons(PANEL_TITLES.ready)).toEqual({ reindeer: 7, elves: 2, santa: 0 });
    expect(icons(PANEL_TITLES.study)).toEqual({ reindeer: 0, elves: 3, santa: 1 });
    expect(icons(PANEL_TITLES.sleigh)).toEqual({ reindeer: 0, elves: 0, santa: 0 });
    // The counts are written out too, in the panels' bottom borders.
    expect(panels.get(PANEL_TITLES.vacation)).toContain("2 reindeer, 5 elves");
    expect(panels.get(PANEL_TITLES.study)).toContain("3 elves");
    // Santa's group is named in his panel.
    expect(panels.get(PANEL_TITLES.study)).toContain("🎅 with Elf 3, Elf 7, Elf 9");
    expect(panels.get(PANEL_TITLES.sleigh)).toContain("The sleigh is in the stable.");
  });

  test("two columns: the same icons, side by side", () => {
    const frame = renderNorthPole(meeting, LOG, { emoji: true, width: 80 });
    expect(count(frame, "🦌")).toBe(9);
    expect(count(frame, "🧝")).toBe(10);
    // Panels two by two: the vacation and ready titles are on one line.
    const titleLine = frame.split("\n").find((l) => l.includes(PANEL_TITLES.vacation))!;
    expect(titleLine).toContain(PANEL_TITLES.ready);
  });

  test("shows Santa's activity, rounds, speeds, chaos and the latest log lines", () => {
    const frame = renderNorthPole(meeting, LOG, { emoji: true, width: 100, logLines: 5 });
    expect(frame).toContain("Santa is meeting 3 elves in his study");
    expect(frame).toContain("(since 20:00:01.234, until 20:00:02.100)");
    expect(frame).toContain("Rounds: 4 deliveries, 11 meetings");
    expect(frame).toContain("work ≤ 1500 ms, vacation ≤ 1200 ms");
    expect(frame).toContain("Chaos: 20% of actor steps fail (3 failures, 2 repairs)");
    expect(frame).toContain("running");
    // The 5 newest lines, newest first, and not the 6th.
    const logAt = frame.indexOf("Latest events");
    expect(logAt).toBeGreaterThan(0);
    const shown = frame.slice(logAt).split("\n").slice(1);
    expect(shown).toEqual(LOG.slice(0, 5).map((l) => `  ${l}`));
    expect(frame).not.toContain(LOG[5]);
  });

  test("delivering: the reindeer and Santa are in the sleigh, chaos is off", () => {
    const frame = renderNorthPole(delivering, [], { emoji: true, width: 60 });
    const panels = panelsOf(frame, true);
    expect(count(panels.get(PANEL_TITLES.sleigh)!, "🦌")).toBe(9);
    expect(count(panels.get(PANEL_TITLES.sleigh)!, "🎅")).toBe(1);
    expect(panels.get(PANEL_TITLES.study)).toContain("Santa is out");
    expect(frame).toContain("Santa is delivering toys with 9 reindeer");
    expect(frame).toContain("Chaos: off");
    expect(frame).toContain("(no events yet)");
  });

  test("sleeping and stopped", () => {
    const frame = renderNorthPole(
      {
        ...meeting,
        running: false,
        santa: "sleeping (stopped)",
        santaActivity: "sleeping",
        group: null,
        elves: { ready: 2, working: 0, vacationing: 8 },
      },
      [],
      { emoji: true },
    );
    expect(frame).toContain("STOPPED");
    expect(frame).toContain("Santa is sleeping (stopped) 💤");
    expect(frame).toContain("The study is empty.");
    expect(count(frame, "🎅")).toBe(1); // in the header only
  });

  test("plain mode: R and E letters, ASCII only, no emoji", () => {
    const frame = renderNorthPole(meeting, LOG, { emoji: false, width: 80 });
    expect(frame).not.toMatch(EMOJI);
    expect(frame).toMatch(/^[\x20-\x7e\n]*$/);
    const panels = northPolePanels(meeting, { emoji: false, innerWidth: 36 });
    const letters = (key: string, letter: string) =>
      panels
        .find((p) => p.key === key)!
        .lines.filter((l) => /^([RE] )*[RE]$/.test(l))
        .join(" ")
        .split(" ")
        .filter((c) => c === letter).length;
    expect(letters("vacation", "R")).toBe(2);
    expect(letters("vacation", "E")).toBe(5);
    expect(letters("ready", "R")).toBe(7);
    expect(letters("ready", "E")).toBe(2);
    expect(letters("study", "E")).toBe(3);
    expect(panels.find((p) => p.key === "study")!.lines).toContain(
      "S with Elf 3, Elf 7, Elf 9",
    );
  });

  test("many workers: counts and bars instead of icons", () => {
    const big: LiveStatus = {
      ...delivering,
      santa: "delivering toys with 1000 reindeer",
      group: {
        kind: "reindeer",
        size: 1000,
        members: [
          ...Array.from({ length: 20 }, (_, i) => `Reindeer ${i + 1}`),
          "... and 980 more",
        ],
        since: T0,
        dueAt: T0 + 1000,
      },
      reindeer: { ready: 0, working: 1000, vacationing: 0 },
      elves: { ready: 2500, working: 0, vacationing: 7500 },
      population: { reindeer: 1000, elves: 10_000, elfGroupSize: 3 },
      seeding: "inserted 500 of 11000 workers",
    };
    for (const emoji of [true, false]) {
      const frame = renderNorthPole(big, [], { emoji, width: 100 });
      // One icon per type and panel at the most: a count, not a crowd.
      expect(count(frame, "🦌")).toBeLessThanOrEqual(1);
      expect(count(frame, "🧝")).toBeLessThanOrEqual(2);
      expect(frame).toContain("1,000 reindeer");
      expect(frame).toContain("7,500 elves");
      expect(frame).toContain("2,500 elves");
      expect(frame).toContain("100%");
      expect(frame).toContain("75%");
      expect(frame).toContain("Seeding: inserted 500 of 11000 workers");
      // The group is named, but only its first members.
      expect(frame).toContain("with Reindeer 1, Reindeer 2");
      expect(frame).not.toContain("Reindeer 20,");
    }
  });

  test("the threshold: 60 workers in a panel are drawn, 61 are counted", () => {
    const status = (vacationing: number): LiveStatus => ({
      ...meeting,
      population: { reindeer: 100, elves: 10, elfGroupSize: 3 },
      reindeer: { ready: 100 - vacationing, working: 0, vacationing },
    });
    const vacationPanel = (s: LiveStatus) =>
      northPolePanels(s, { emoji: true, innerWidth: 36 })[0]!.lines.join("\n");
    // 55 reindeer and 5 elves on vacation: 60 icons.
    expect(count(vacationPanel(status(55)), "🦌")).toBe(55);
    // 56 and 5: 61, so counted.
    expect(count(vacationPanel(status(56)), "🦌")).toBe(1);
    expect(vacationPanel(status(56))).toContain("56 reindeer");
  });

  test("every line fits in the width, emoji counted as two cells", () => {
    for (const width of [40, 64, 80, 120]) {
      for (const emoji of [true, false]) {
        for (const s of [meeting, delivering]) {
          const frame = renderNorthPole(s, LOG, {
            emoji,
            width,
            footer: ["x".repeat(200)],
          });
          for (const line of frame.split("\n")) {
            expect(displayWidth(line), `${width} ${emoji}: ${line}`).toBeLessThanOrEqual(width);
          }
        }
      }
    }
    // Box lines of the panels are exactly as wide as the picture.
    const frame = renderNorthPole(meeting, [], { emoji: true, width: 80 });
    const boxLines = frame.split("\n").filter((l) => l.startsWith("┌") || l.startsWith("│"));
    expect(boxLines.length).toBeGreaterThan(4);
    for (const l of boxLines) expect(displayWidth(l)).toBe(80);
  });

  test("no North Pole: says so, with the hint", () => {
    const none: NorthPoleStatus = {
      exists: false,
      hint: "No North Pole yet: run `npx convex run sim:start`.",
    };
    const frame = renderNorthPole(none, [], { emoji: true });
    expect(frame).toContain("There is no North Pole in this deployment yet.");
    expect(frame).toContain("run `npx convex run sim:start`");
    expect(frame).not.toContain(PANEL_TITLES.vacation);
  });
});

// ---------------------------------------------------------------------------
// The live screen.

class FakeOut extends EventEmitter {
  written = "";
  constructor(
    readonly isTTY: boolean,
    readonly columns = 100,
    readonly rows = 40,
  ) {
    super();
  }
  write(chunk: string) {
    this.written += chunk;
    return true;
  }
}

class FakeProcess extends EventEmitter implements ScreenProcess {
  exitCode: number | undefined;
  exit(code?: number) {
    this.exitCode = code;
  }
}

describe("createScreen", () => {
  test("a terminal: alternate screen, redraw in place, restored on close", () => {
    const out = new FakeOut(true);
    const proc = new FakeProcess();
    const screen = createScreen({ out, process: proc });
    expect(screen.live).toBe(true);
    expect(screen.width()).toBe(100);
    expect(out.written).toBe(ESC.enterAlternateScreen + ESC.hideCursor);
    out.written = "";
    screen.draw("frame one\nline two");
    expect(out.written.startsWith(ESC.home)).toBe(true);
    expect(out.written).toContain(`frame one${ESC.clearToEndOfLine}\nline two`);
    expect(out.written.endsWith(ESC.clearToEndOfScreen)).toBe(true);
    screen.draw("frame two");
    out.written = "";
    screen.close();
    expect(out.written).toBe(ESC.showCursor + ESC.leaveAlternateScreen + "frame two\n");
    // Closed: the listeners are gone, a second close writes nothing.
    expect(proc.listenerCount("SIGINT")).toBe(0);
    expect(proc.listenerCount("exit")).toBe(0);
    out.written = "";
    screen.close();
    screen.draw("late");
    expect(out.written).toBe("");
  });

  test("Ctrl-C restores the terminal, then exits 130", () => {
    const out = new FakeOut(true);
    const proc = new FakeProcess();
    const screen = createScreen({ out, process: proc, keepLastFrame: false });
    screen.draw("picture");
    out.written = "";
    proc.emit("SIGINT");
    expect(out.written).toBe(ESC.showCursor + ESC.leaveAlternateScreen);
    expect(proc.exitCode).toBe(130);
  });

  test("Ctrl-C with onInterrupt: restored first, then the caller's handler", () => {
    const out = new FakeOut(true);
    const proc = new FakeProcess();
    const seen: string[] = [];
    createScreen({
      out,
      process: proc,
      onInterrupt: (signal) => seen.push(`${signal} after ${out.written.endsWith(ESC.leaveAlternateScreen)}`),
    });
    proc.emit("SIGTERM");
    expect(seen).toEqual(["SIGTERM after true"]);
    expect(proc.exitCode).toBeUndefined();
  });

  test("an exit (a crash included) restores the terminal", () => {
    const out = new FakeOut(true);
    const proc = new FakeProcess();
    createScreen({ out, process: proc, keepLastFrame: false });
    out.written = "";
    proc.emit("exit");
    expect(out.written).toBe(ESC.showCursor + ESC.leaveAlternateScreen);
  });

  test("a frame taller than the terminal is cut to its rows", () => {
    const out = new FakeOut(true, 80, 3);
    const screen = createScreen({ out, process: new FakeProcess() });
    out.written = "";
    screen.draw("1\n2\n3\n4\n5");
    expect(out.written).toContain("3");
    expect(out.written).not.toContain("4");
  });

  test("not a terminal: plain frames, no escape codes", () => {
    const out = new FakeOut(false);
    const screen = createScreen({ out, process: new FakeProcess() });
    expect(screen.live).toBe(false);
    expect(screen.width()).toBe(80);
    screen.draw("one");
    screen.draw("two");
    screen.close();
    expect(out.written).toBe(`one\n${PLAIN_FRAME_SEPARATOR}two\n`);
    expect(out.written).not.toContain("\x1b");
  });

  test("not a terminal, only the last frame", () => {
    const out = new FakeOut(false);
    const screen = createScreen({ out, process: new FakeProcess(), plainFrames: "last" });
    screen.draw("one");
    screen.draw("two");
    expect(out.written).toBe("");
    screen.close();
    expect(out.written).toBe("two\n");
  });
});

// ---------------------------------------------------------------------------
// The deployment URL and `npm run watch`.

describe("deployment URL", () => {
  test("parses .env.local as the Convex CLI writes it", () => {
    const vars = parseEnvFile(
      [
        "# Deployment used by `npx convex dev`",
        "CONVEX_DEPLOYMENT=anonymous:anonymous-north-pole # team: x",
        "",
        'CONVEX_URL="http://127.0.0.1:3210"',
        "export VITE_CONVEX_URL='https://happy-otter-123.convex.cloud'",
      ].join("\n"),
    );
    expect(vars).toEqual({
      CONVEX_DEPLOYMENT: "anonymous:anonymous-north-pole",
      CONVEX_URL: "http://127.0.0.1:3210",
      VITE_CONVEX_URL: "https://happy-otter-123.convex.cloud",
    });
  });

  test("the environment first, then the files; CONVEX_URL before the others", () => {
    expect(
      findDeploymentUrl([
        { name: "the environment", vars: {} },
        {
          name: ".env.local",
          vars: { VITE_CONVEX_URL: "https://b.convex.cloud", CONVEX_URL: "https://a.convex.cloud" },
        },
      ]),
    ).toEqual({ url: "https://a.convex.cloud", from: "CONVEX_URL in .env.local" });
    expect(
      findDeploymentUrl([
        { name: "the environment", vars: { CONVEX_SELF_HOSTED_URL: "http://me:3210" } },
        { name: ".env.local", vars: { CONVEX_URL: "https://a.convex.cloud" } },
      ]),
    ).toEqual({ url: "http://me:3210", from: "CONVEX_SELF_HOSTED_URL in the environment" });
    expect(findDeploymentUrl([{ name: ".env.local", vars: { CONVEX_DEPLOYMENT: "dev:x" } }])).toBeNull();
  });

  test("reads .env.local from the project root", () => {
    const dir = mkdtempSync(join(tmpdir(), "np-env-"));
    try {
      expect(loadDeploymentUrl(dir, {})).toBeNull();
      writeFileSync(join(dir, ".env.local"), "CONVEX_URL=http://127.0.0.1:3210\n");
      expect(loadDeploymentUrl(dir, {})).toEqual({
        url: "http://127.0.0.1:3210",
        from: "CONVEX_URL in .env.local",
      });
      expect(loadDeploymentUrl(dir, { CONVEX_URL: "https://env.convex.cloud" })?.url).toBe(
        "https://env.convex.cloud",
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

/** Runs `scripts/watch.ts` with vite-node; resolves when it exits. */
function runWatch(args: string[], options: { cwd: string; env?: Record<string, string> }) {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (v !== undefined && !/CONVEX_(SELF_HOSTED_)?URL$/.test(k)) env[k] = v;
  }
  const child = spawn(
    process.execPath,
    [
      join(ROOT, "node_modules/vite-node/dist/cli.mjs"),
      "--root",
      ROOT,
      join(ROOT, "scripts/watch.ts"),
      ...args,
    ],
    { cwd: options.cwd, env: { ...env, ...options.env }, stdio: ["ignore", "pipe", "pipe"] },
  );
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (d) => (stdout += d));
  child.stderr.on("data", (d) => (stderr += d));
  const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
  return {
    child,
    exited,
    stdout: () => stdout,
    stderr: () => stderr,
    async waitFor(text: string, timeoutMs = 30_000) {
      const until = Date.now() + timeoutMs;
      while (!stdout.includes(text)) {
        if (Date.now() > until || child.exitCode !== null) {
          throw new Error(`"${text}" never shown. stdout:\n${stdout}\nstderr:\n${stderr}`);
        }
        await new Promise((r) => setTimeout(r, 50));
      }
    },
  };
}

/**
 * Just enough of Convex's sync protocol to serve query results: it answers
 * each ModifyQuerySet with a Transition carrying the current value of every
 * query added, and `publish` pushes a new value to the subscribers.
 */
class FakeConvex {
  readonly received: { type: string; [k: string]: unknown }[] = [];
  private readonly server: WebSocketServer;
  private readonly clients = new Set<{
    ws: WebSocket;
    querySet: number;
    ts: bigint;
    queries: Map<number, string>;
  }>();
  values = new Map<string, unknown>();

  constructor() {
    this.server = new WebSocketServer({ port: 0, host: "127.0.0.1" });
    this.server.on("connection", (ws) => {
      const client = { ws, querySet: 0, ts: 0n, queries: new Map<number, string>() };
      this.clients.add(client);
      ws.on("close", () => this.clients.delete(client));
      ws.on("message", (data) => {
        const message = JSON.parse(String(data)) as {
          type: string;
          baseVersion?: number;
          newVersion?: number;
          modifications?: { type: string; queryId: number; udfPath?: string }[];
        };
        this.received.push(message);
        if (message.type !== "ModifyQuerySet") return;
        const updated: number[] = [];
        for (const m of message.modifications ?? []) {
          if (m.type === "Add") {
            client.queries.set(m.queryId, m.udfPath!);
            updated.push(m.queryId);
          } else if (m.type === "Remove") client.queries.delete(m.queryId);
        }
        this.transition(client, message.newVersion!, updated);
      });
    });
  }

  get url(): Promise<string> {
    return new Promise((resolve) => {
      const done = () => {
        const address = this.server.address();
        resolve(`http://127.0.0.1:${typeof address === "object" && address ? address.port : 0}`);
      };
      if (this.server.address()) done();
      else this.server.once("listening", done);
    });
  }

  publish(udfPath: string, value: unknown) {
    this.values.set(udfPath, value);
    for (const client of this.clients) {
      const ids = [...client.queries].filter(([, p]) => p === udfPath).map(([id]) => id);
      if (ids.length > 0) this.transition(client, client.querySet, ids);
    }
  }

  private transition(
    client: { ws: WebSocket; querySet: number; ts: bigint; queries: Map<number, string> },
    newQuerySet: number,
    queryIds: number[],
  ) {
    const version = (querySet: number, ts: bigint) => {
      const bytes = Buffer.alloc(8);
      bytes.writeBigUInt64LE(ts);
      return { querySet, identity: 0, ts: bytes.toString("base64") };
    };
    const start = version(client.querySet, client.ts);
    client.querySet = newQuerySet;
    client.ts += 1n;
    client.ws.send(
      JSON.stringify({
        type: "Transition",
        startVersion: start,
        endVersion: version(client.querySet, client.ts),
        modifications: queryIds.map((queryId) => ({
          type: "QueryUpdated",
          queryId,
          value: this.values.get(client.queries.get(queryId)!) ?? null,
          logLines: [],
          journal: null,
        })),
      }),
    );
  }

  async close() {
    for (const c of this.clients) c.ws.terminate();
    await new Promise((r) => this.server.close(r));
  }
}

describe("npm run watch", () => {
  test("with no deployment configured: one sentence on what to run, exit 1", async () => {
    const dir = mkdtempSync(join(tmpdir(), "np-watch-"));
    try {
      const run = runWatch([], { cwd: dir });
      expect(await run.exited).toBe(1);
      expect(run.stderr().trim()).toBe(
        "No Convex deployment configured: run `npm start` (or `npx convex dev`) first, which writes CONVEX_URL to .env.local.",
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test("bad options are refused with the usage", async () => {
    const run = runWatch(["--log", "many"], { cwd: ROOT });
    expect(await run.exited).toBe(2);
    expect(run.stderr()).toContain("--log must be an integer from 0 to 50");
    expect(run.stderr()).toContain("Usage: npm run watch");
  });

  test("a deployment that never answers: gives up after --connect-timeout, exit 1", async () => {
    // A port that nothing listens on: bind one, then free it.
    const port = await new Promise<number>((resolve) => {
      const server = createServer();
      server.listen(0, "127.0.0.1", () => {
        const { port } = server.address() as AddressInfo;
        server.close(() => resolve(port));
      });
    });
    const url = `http://127.0.0.1:${port}`;
    const run = runWatch(["--plain", "--url", url, "--connect-timeout", "1"], { cwd: ROOT });
    expect(await run.exited).toBe(1);
    expect(run.stderr()).toContain(
      `Cannot reach the Convex deployment at ${url} (--url) after 1 s: is it running?`,
    );
  });

  test("a flag where a value should be is refused; --flag=value reads as --flag value", async () => {
    const run = runWatch(["--url", "--plain"], { cwd: ROOT });
    expect(await run.exited).toBe(2);
    expect(run.stderr()).toContain("--url needs a value");
    const inline = runWatch(["--log=many"], { cwd: ROOT });
    expect(await inline.exited).toBe(2);
    expect(inline.stderr()).toContain("--log must be an integer from 0 to 50, got many");
  });

  test("subscribes to sim:status and sim:log, redraws on each change, changes nothing", async () => {
    const convex = new FakeConvex();
    const dir = mkdtempSync(join(tmpdir(), "np-watch-"));
    try {
      convex.values.set("sim:status", meeting);
      convex.values.set("sim:log", ["20:00:01.234 Elf 9 meeting in the study"]);
      // The URL the Convex CLI wrote.
      writeFileSync(join(dir, ".env.local"), `CONVEX_URL=${await convex.url}\n`);
      const run = runWatch(["--plain"], { cwd: dir });
      await run.waitFor("Santa is meeting 3 elves in his study");
      await run.waitFor("Elf 9 meeting in the study");
      expect(run.stdout()).toContain(`Watching ${await convex.url} (CONVEX_URL in .env.local)`);
      expect(run.stdout()).not.toMatch(EMOJI);

      convex.publish("sim:status", delivering);
      await run.waitFor("Santa is delivering toys with 9 reindeer");
      convex.publish("sim:log", ["20:00:02.000 Ho! Ho! Ho! let's deliver toys"]);
      await run.waitFor("Ho! Ho! Ho! let's deliver toys");

      run.child.kill("SIGINT");
      expect(await run.exited).toBe(0);
      // Read-only: it asked for the two queries and ran no mutation or action.
      const types = new Set(convex.received.map((m) => m.type));
      expect(types.has("ModifyQuerySet")).toBe(true);
      expect(types.has("Mutation")).toBe(false);
      expect(types.has("Action")).toBe(false);
      const paths = convex.received
        .flatMap((m) => (m.modifications as { udfPath?: string }[] | undefined) ?? [])
        .map((m) => m.udfPath)
        .filter(Boolean)
        .sort();
      expect(paths).toEqual(["sim:log", "sim:status"]);
    } finally {
      await convex.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

// ---------------------------------------------------------------------------
// The timeline.

/** Parses XML, collecting every warning and error of the parser. */
function parseXml(xml: string): { doc: Document; problems: string[] } {
  const problems: string[] = [];
  let doc: Document;
  try {
    doc = new DOMParser({
      onError: (level, message) => {
        problems.push(`${level}: ${message}`);
      },
    }).parseFromString(xml, "image/svg+xml");
  } catch (e) {
    problems.push(String(e));
    doc = new DOMParser().parseFromString("<svg/>", "image/svg+xml");
  }
  return { doc, problems };
}

function elements(root: Document | Element, tag: string): Element[] {
  return Array.from(root.getElementsByTagName(tag));
}

function lanes(doc: Document): Element[] {
  return elements(doc, "g").filter((g) => g.hasAttribute("data-lane"));
}

function stateRects(lane: Element) {
  return elements(lane, "rect")
    .filter((r) => r.hasAttribute("data-state"))
    .map((r) => ({
      state: r.getAttribute("data-state"),
      from: Number(r.getAttribute("data-from")),
      to: Number(r.getAttribute("data-to")),
      x: Number(r.getAttribute("x")),
      width: Number(r.getAttribute("width")),
      fill: r.getAttribute("fill"),
    }));
}

const S0 = 1_000_000;

/** A small run: 2 reindeer, 3 elves (groups of 2), 10 s. */
const small: TimelineInput = {
  start: S0,
  end: S0 + 10_000,
  population: { reindeer: 2, elves: 3, elfGroupSize: 2 },
  santa: [
    { at: S0, activity: "delivering" },
    { at: S0 + 2_000, activity: "sleeping" },
    { at: S0 + 3_000, activity: "meeting" },
    { at: S0 + 4_500, activity: "sleeping" },
  ],
  workers: [
    {
      workerType: "elves",
      number: 1,
      changes: [
        { at: S0, state: "ready" },
        { at: S0 + 3_000, state: "working" },
        { at: S0 + 4_500, state: "vacationing" },
        { at: S0 + 6_000, state: "ready" },
      ],
    },
    {
      workerType: "reindeer",
      number: 1,
      changes: [
        { at: S0, state: "working" },
        { at: S0 + 2_000, state: "vacationing" },
        { at: S0 + 5_000, state: "ready" },
      ],
    },
    {
      workerType: "reindeer",
      number: 2,
      changes: [
        { at: S0, state: "working" },
        { at: S0 + 2_000, state: "vacationing" },
        { at: S0 + 9_000, state: "ready" },
      ],
    },
    {
      workerType: "elves",
      number: 2,
      changes: [
        { at: S0, state: "ready" },
        { at: S0 + 3_000, state: "working" },
        { at: S0 + 4_500, state: "vacationing" },
        // Repeated states merge into one interval.
        { at: S0 + 5_000, state: "vacationing" },
      ],
    },
    { workerType: "elves", number: 3, changes: [{ at: S0, state: "ready" }] },
  ],
};

describe("renderTimelineSvg", () => {
  test("the well-formedness check catches broken XML", () => {
    expect(parseXml("<svg><rect></svg>").problems.length).toBeGreaterThan(0);
    expect(parseXml('<svg a="1" a="2"/>').problems.length).toBeGreaterThan(0);
    expect(parseXml('<svg xmlns="http://www.w3.org/2000/svg"><rect/></svg>').problems).toEqual([]);
  });

  test("is well-formed SVG with a lane for Santa and one per worker, in order", () => {
    const svg = renderTimelineSvg(small, { width: 1200, title: "A <small> run & more" });
    const { doc, problems } = parseXml(svg);
    expect(problems).toEqual([]);
    const root = doc.documentElement!;
    expect(root.tagName).toBe("svg");
    expect(root.getAttribute("xmlns")).toBe("http://www.w3.org/2000/svg");
    expect(root.getAttribute("data-mode")).toBe("lanes");
    expect(Number(root.getAttribute("width"))).toBe(1200);
    expect(Number(root.getAttribute("height"))).toBeGreaterThan(200);
    expect(lanes(doc).map((g) => g.getAttribute("data-lane"))).toEqual([
      "santa",
      "reindeer-1",
      "reindeer-2",
      "elves-1",
      "elves-2",
      "elves-3",
    ]);
    // The title, escaped and readable back.
    expect(elements(doc, "title")[0]!.textContent).toBe("A <small> run & more");
  });

  test("each rect is one interval of the events, at the right x and width", () => {
    const svg = renderTimelineSvg(small, { width: 1200 });
    const { doc } = parseXml(svg);
    const root = doc.documentElement!;
    const left = Number(root.getAttribute("data-plot-left"));
    const right = Number(root.getAttribute("data-plot-right"));
    const x = (t: number) => left + ((t - small.start) / (small.end - small.start)) * (right - left);
    const lane = (name: string) => lanes(doc).find((g) => g.getAttribute("data-lane") === name)!;

    for (const w of small.workers) {
      const rects = stateRects(lane(`${w.workerType}-${w.number}`));
      const expected = intervalsOf(w.changes, small.start, small.end);
      expect(rects.map((r) => [r.state, r.from, r.to])).toEqual(
        expected.map((i) => [i.state, i.from, i.to]),
      );
      for (const r of rects) {
        expect(r.x).toBeCloseTo(x(r.from), 1);
        expect(r.width).toBeCloseTo(x(r.to) - x(r.from), 1);
      }
    }
    // Reindeer 1 works from 0 to 2 s of 10: a fifth of the plot, in the
    // delivering color; elf 1's meeting from 3 to 4.5 s in the meeting color.
    const r1 = stateRects(lane("reindeer-1")).find((r) => r.state === "working")!;
    expect(r1.x).toBeCloseTo(left, 1);
    expect(r1.width).toBeCloseTo((right - left) / 5, 1);
    expect(r1.fill).toBe(TIMELINE_COLORS.working.reindeer);
    const e1 = stateRects(lane("elves-1")).find((r) => r.state === "working")!;
    expect(e1.x).toBeCloseTo(left + 0.3 * (right - left), 1);
    expect(e1.width).toBeCloseTo(0.15 * (right - left), 1);
    expect(e1.fill).toBe(TIMELINE_COLORS.working.elves);
    // Elf 2's two vacation changes are one rect, to the end.
    expect(stateRects(lane("elves-2")).map((r) => r.state)).toEqual([
      "ready",
      "working",
      "vacationing",
    ]);
    expect(stateRects(lane("elves-3"))).toHaveLength(1);
    // Santa: his four activities, colored by activity.
    expect(stateRects(lane("santa")).map((r) => [r.state, r.fill])).toEqual([
      ["delivering", TIMELINE_COLORS.delivering],
      ["sleeping", TIMELINE_COLORS.sleeping],
      ["meeting", TIMELINE_COLORS.meeting],
      ["sleeping", TIMELINE_COLORS.sleeping],
    ]);
  });

  test("has a legend and a labeled time axis", () => {
    const svg = renderTimelineSvg(small);
    const { doc } = parseXml(svg);
    const texts = elements(doc, "text").map((t) => t.textContent);
    for (const label of [
      "Santa sleeping",
      "delivering toys (Santa + reindeer)",
      "meeting in the study (Santa + elves)",
      "ready, waiting for Santa",
      "on vacation",
    ]) {
      expect(texts).toContain(label);
    }
    const ticks = elements(doc, "text").filter((t) => t.getAttribute("class") === "tick");
    expect(ticks.map((t) => t.textContent)).toEqual([
      "0 s", "1 s", "2 s", "3 s", "4 s", "5 s", "6 s", "7 s", "8 s", "9 s", "10 s",
    ]);
    const root = doc.documentElement!;
    expect(Number(ticks[0]!.getAttribute("x"))).toBe(Number(root.getAttribute("data-plot-left")));
    expect(Number(ticks[10]!.getAttribute("x"))).toBe(Number(root.getAttribute("data-plot-right")));
    expect(texts.join(" ")).toContain("2 reindeer, 3 elves in groups of 2");
    expect(texts.join(" ")).toContain("1 delivery, 1 meeting in the study");
  });

  test("time axis ticks suit the span", () => {
    expect(niceTicks(10_000, 1000)).toEqual([0, 1000, 2000, 3000, 4000, 5000, 6000, 7000, 8000, 9000, 10_000]);
    expect(niceTicks(30 * 86_400_000, 1000).length).toBeLessThanOrEqual(11);
    expect(formatTick(500, 100)).toBe("0.5 s");
    expect(formatTick(120_000, 60_000)).toBe("2 min");
    expect(formatTick(90_000, 30_000)).toBe("90 s");
    expect(formatTick(330_000, 300_000)).toBe("5:30");
    expect(formatTick(7_200_000, 3_600_000)).toBe("2 h");
    expect(formatTick(2 * 86_400_000, 86_400_000)).toBe("2 d");
  });

  test("stays readable at 19 workers: one lane each", () => {
    const input = syntheticRun(9, 10, 3, 20_000);
    const svg = renderTimelineSvg(input);
    const { doc, problems } = parseXml(svg);
    expect(problems).toEqual([]);
    expect(doc.documentElement!.getAttribute("data-mode")).toBe("lanes");
    expect(lanes(doc)).toHaveLength(20);
    expect(elements(doc, "text").map((t) => t.textContent)).toContain("Elf 10");
  });

  test("summarizes 1,000+ workers: one stacked lane per type", () => {
    const input = syntheticRun(1000, 200, 10, 20_000);
    const svg = renderTimelineSvg(input);
    const { doc, problems } = parseXml(svg);
    expect(problems).toEqual([]);
    expect(doc.documentElement!.getAttribute("data-mode")).toBe("summary");
    expect(lanes(doc).map((g) => [g.getAttribute("data-lane"), g.getAttribute("data-workers")])).toEqual([
      ["santa", null],
      ["reindeer-summary", "1000"],
      ["elves-summary", "200"],
    ]);
    const reindeer = lanes(doc)[1]!;
    expect(elements(reindeer, "path").map((p) => p.getAttribute("data-state"))).toEqual([
      "working",
      "ready",
      "vacationing",
    ]);
    // Size stays bounded by the picture's width, not by the population.
    expect(svg.length).toBeLessThan(250_000);
  });

  test("a long, dense run of 19 workers is summarized too", () => {
    const input = syntheticRun(9, 10, 3, 3_600_000);
    const svg = renderTimelineSvg(input);
    expect(parseXml(svg).problems).toEqual([]);
    expect(svg).toContain('data-mode="summary"');
    expect(svg.length).toBeLessThan(250_000);
  });

  test("the shares of a summarized lane are time-weighted and add up to 1", () => {
    const actors = [
      { changes: [{ at: 0, state: "ready" as const }, { at: 50, state: "working" as const }] },
      { changes: [{ at: 0, state: "vacationing" as const }] },
    ];
    const shares = stateShares(actors, ["working", "ready", "vacationing"], 0, 100, 4);
    // Bins of 25 ms: the first actor works from 50 on.
    expect(Array.from(shares.get("working")!)).toEqual([0, 0, 0.5, 0.5]);
    expect(Array.from(shares.get("ready")!)).toEqual([0.5, 0.5, 0, 0]);
    expect(Array.from(shares.get("vacationing")!)).toEqual([0.5, 0.5, 0.5, 0.5]);
    // A change inside a bin splits it.
    const split = stateShares(
      [{ changes: [{ at: 0, state: "ready" as const }, { at: 10, state: "working" as const }] }],
      ["working", "ready"],
      0,
      100,
      4,
    );
    expect(split.get("working")![0]).toBeCloseTo(0.6);
    expect(split.get("ready")![0]).toBeCloseTo(0.4);
  });
});

/**
 * A run that follows the rules, made without a backend: Santa alternates a
 * reindeer round and an elf round; workers outside the group vacation then
 * wait.
 */
function syntheticRun(reindeer: number, elves: number, group: number, spanMs: number): TimelineInput {
  const start = S0;
  const end = S0 + spanMs;
  const santa: TimelineInput["santa"] = [];
  const workers: TimelineInput["workers"] = [];
  for (let i = 1; i <= reindeer; i++) workers.push({ workerType: "reindeer", number: i, changes: [{ at: start, state: "ready" }] });
  for (let i = 1; i <= elves; i++) workers.push({ workerType: "elves", number: i, changes: [{ at: start, state: "ready" }] });
  let t = start;
  let round = 0;
  let nextElf = 0;
  while (t < end) {
    const kind = round % 2 === 0 ? "reindeer" : "elves";
    const members =
      kind === "reindeer"
        ? workers.filter((w) => w.workerType === "reindeer")
        : Array.from({ length: group }, () => workers[reindeer + (nextElf++ % elves)]!);
    santa.push({ at: t, activity: kind === "reindeer" ? "delivering" : "meeting" });
    for (const w of members) w.changes.push({ at: t, state: "working" });
    t += 400 + (round % 3) * 150;
    santa.push({ at: t, activity: "sleeping" });
    for (const w of members) {
      w.changes.push({ at: t, state: "vacationing" });
      w.changes.push({ at: t + 300 + (w.number % 5) * 60, state: "ready" });
    }
    t += 100;
    round += 1;
  }
  for (const w of workers) w.changes.sort((a, b) => a.at - b.at);
  return { start, end, population: { reindeer, elves, elfGroupSize: group }, santa, workers };
}

describe("TimelineRecorder", () => {
  // The recorder takes what test/invariants.ts's snapshot() returns.
  const _fits = (s: Snapshot): TimelineSnapshot => s;

  const np = (generation: number, activity: "sleeping" | "delivering" | "meeting", since: number) => ({
    generation,
    population: { reindeer: 2, elves: 2, elfGroupSize: 1 },
    santa: { activity, since, step: 0, armed: false, group: [] },
  });
  const w = (workerType: "reindeer" | "elves", number: number, state: "ready" | "working" | "vacationing", since: number) => ({
    workerType,
    number,
    state,
    since,
  });

  test("records each change at the time the actor entered its state", () => {
    const r = new TimelineRecorder();
    expect(r.empty).toBe(true);
    r.observe({ now: 90, np: null, workers: [] });
    expect(r.empty).toBe(true);
    r.observe({
      now: 100,
      np: np(1, "sleeping", 50),
      workers: [w("reindeer", 1, "ready", 50), w("reindeer", 2, "ready", 50), w("elves", 1, "ready", 50)],
    });
    // A sparse snapshot: the dispatch happened at 120, seen at 150.
    r.observe({
      now: 150,
      np: np(1, "delivering", 120),
      workers: [w("reindeer", 1, "working", 120), w("reindeer", 2, "working", 120), w("elves", 1, "ready", 50)],
    });
    r.observe({
      now: 300,
      np: np(1, "meeting", 290),
      workers: [
        w("reindeer", 1, "vacationing", 280),
        w("reindeer", 2, "vacationing", 280),
        w("elves", 1, "working", 290),
        // Inserted late (batched seeding).
        w("elves", 2, "ready", 200),
      ],
    });
    const input = r.toInput();
    expect(input.start).toBe(100);
    expect(input.end).toBe(300);
    expect(input.population).toEqual({ reindeer: 2, elves: 2, elfGroupSize: 1 });
    expect(input.santa).toEqual([
      { at: 100, activity: "sleeping" },
      { at: 120, activity: "delivering" },
      { at: 290, activity: "meeting" },
    ]);
    expect(input.workers.map((x) => [x.workerType, x.number, x.changes])).toEqual([
      ["reindeer", 1, [{ at: 100, state: "ready" }, { at: 120, state: "working" }, { at: 280, state: "vacationing" }]],
      ["reindeer", 2, [{ at: 100, state: "ready" }, { at: 120, state: "working" }, { at: 280, state: "vacationing" }]],
      ["elves", 1, [{ at: 100, state: "ready" }, { at: 290, state: "working" }]],
      ["elves", 2, [{ at: 200, state: "ready" }]],
    ]);
    // And it renders.
    expect(parseXml(renderTimelineSvg(input)).problems).toEqual([]);
  });

  test("two rounds of one kind in a row are two intervals of Santa's", () => {
    const r = new TimelineRecorder();
    r.observe({ now: 100, np: np(1, "meeting", 100), workers: [] });
    // Santa released a group and took the next in one transaction.
    r.observe({ now: 400, np: np(1, "meeting", 400), workers: [] });
    r.observe({ now: 700, np: np(1, "sleeping", 700), workers: [] });
    r.observe({ now: 800, np: np(1, "sleeping", 700), workers: [] });
    const input = r.toInput(1000);
    expect(input.santa).toEqual([
      { at: 100, activity: "meeting" },
      { at: 400, activity: "meeting" },
      { at: 700, activity: "sleeping" },
    ]);
    const svg = renderTimelineSvg(input);
    expect(stateRects(lanes(parseXml(svg).doc)[0]!).map((x) => x.state)).toEqual([
      "meeting",
      "meeting",
      "sleeping",
    ]);
    expect(svg).toContain("2 meetings in the study");
  });

  test("a reseed starts the recording over", () => {
    const r = new TimelineRecorder();
    r.observe({ now: 100, np: np(1, "sleeping", 0), workers: [w("reindeer", 1, "ready", 0)] });
    r.observe({ now: 500, np: np(2, "sleeping", 500), workers: [w("elves", 1, "ready", 500)] });
    const input = r.toInput(700);
    expect(input.start).toBe(500);
    expect(input.end).toBe(700);
    expect(input.workers.map((x) => `${x.workerType} ${x.number}`)).toEqual(["elves 1"]);
  });
});

// ---------------------------------------------------------------------------
// Headless Chromium.

const chromiumPath = findChromium();
if (chromiumPath === null) {
  console.warn(
    "SKIPPED: the timeline's Chromium render test: no Chromium found (install it with `apt-get install -y chromium`, or set CHROMIUM_PATH).",
  );
}

describe("the timeline in headless Chromium", () => {
  test.skipIf(chromiumPath === null)(
    "renders at its size, as an image too, with the lanes' colors where they belong",
    async () => {
      const svg = renderTimelineSvg(small, { width: 900 });
      const root = parseXml(svg).doc.documentElement!;
      const width = Number(root.getAttribute("width"));
      const height = Number(root.getAttribute("height"));
      const left = Number(root.getAttribute("data-plot-left"));
      const right = Number(root.getAttribute("data-plot-right"));
      const lane = lanes(parseXml(svg).doc).find((g) => g.getAttribute("data-lane") === "reindeer-1")!;
      const laneRect = elements(lane, "rect").find((r) => r.getAttribute("data-state") === "working")!;
      // The middle of Reindeer 1's working interval (0 to 2 s of 10).
      const px = Math.round(left + 0.1 * (right - left));
      const py = Math.round(Number(laneRect.getAttribute("y")) + Number(laneRect.getAttribute("height")) / 2);

      const result = await withSvgPage(svg, async (page, box) => {
        const hit = await page.evaluate(
          ([x, y]) => {
            const el = document.elementFromPoint(x!, y!);
            return el?.closest("[data-lane]")?.getAttribute("data-lane") + "/" + el?.getAttribute("data-state");
          },
          [px, py],
        );
        // Drawn as an <img> would (as GitHub shows it), then sampled.
        const pixel = await page.evaluate(
          async ([x, y]) => {
            const xml = new XMLSerializer().serializeToString(document.querySelector("svg")!);
            const img = new Image();
            img.src = "data:image/svg+xml;charset=utf-8," + encodeURIComponent(xml);
            await img.decode();
            const canvas = document.createElement("canvas");
            canvas.width = img.width;
            canvas.height = img.height;
            const ctx = canvas.getContext("2d")!;
            ctx.drawImage(img, 0, 0);
            return Array.from(ctx.getImageData(x!, y!, 1, 1).data);
          },
          [px, py],
        );
        const png = await page.locator("svg").screenshot({ type: "png" });
        return { box, hit, pixel, png };
      }, { executablePath: chromiumPath! });

      expect(result.box.width).toBe(width);
      expect(result.box.height).toBe(height);
      expect(result.hit).toBe("reindeer-1/working");
      const red = TIMELINE_COLORS.working.reindeer;
      expect(result.pixel.slice(0, 3)).toEqual([
        parseInt(red.slice(1, 3), 16),
        parseInt(red.slice(3, 5), 16),
        parseInt(red.slice(5, 7), 16),
      ]);
      expect(pngSize(result.png)).toEqual({ width, height });
    },
    60_000,
  );
});

// ---------------------------------------------------------------------------
// `npm run simulate -- --view / --timeline`, over the real functions.

/** Runs the simulate CLI with streams that collect what it writes. */
async function runSimulate(argv: string[]) {
  let stdout = "";
  let stderr = "";
  const proc = Object.assign(new EventEmitter(), { exit: () => {} });
  const io: CliIO = {
    stdout: { write: (c: string) => (stdout += c) },
    stderr: { write: (c: string) => (stderr += c) },
    process: proc as unknown as ScreenProcess,
  };
  const code = await simulate(argv, io);
  // The view let go of the process's events when it closed.
  expect(proc.eventNames()).toEqual([]);
  return { code, stdout, stderr };
}

describe("npm run simulate -- --timeline", () => {
  test("writes well-formed SVG whose lanes match the events of the run", async () => {
    const dir = mkdtempSync(join(tmpdir(), "north-pole-timeline-"));
    try {
      const file = join(dir, "nested", "run.svg");
      const { code, stdout } = await runSimulate(["--minutes", "0.5", "--rng-seed", "5", "--timeline", file]);
      expect(code).toBe(0);
      expect(stdout).toContain(`Wrote the timeline to ${file}`);
      const { doc, problems } = parseXml(readFileSync(file, "utf8"));
      expect(problems).toEqual([]);
      expect(doc.documentElement!.getAttribute("data-mode")).toBe("lanes");
      const byLane = new Map(lanes(doc).map((g) => [g.getAttribute("data-lane"), stateRects(g)]));
      expect(byLane.size).toBe(1 + 9 + 10);

      // The log lines the run printed, as the events to compare with.
      const logged = (text: string) => stdout.split("\n").filter((l) => l.endsWith(` ${text}`)).length;
      const deliveries = logged("Ho! Ho! Ho! let's deliver toys");
      const meetings = logged("Ho! Ho! Ho! let's meet in my study");
      const rounds = /rounds {14}(\d+):/.exec(stdout)!;
      // Every round ended but the one under way at the end.
      expect(deliveries + meetings).toBe(Number(rounds[1]) + 1);
      const santa = byLane.get("santa")!;
      expect(santa.filter((r) => r.state === "delivering")).toHaveLength(deliveries);
      expect(santa.filter((r) => r.state === "meeting")).toHaveLength(meetings);
      for (let n = 1; n <= 9; n++) {
        expect(byLane.get(`reindeer-${n}`)!.filter((r) => r.state === "working")).toHaveLength(deliveries);
      }
      let served = 0;
      for (let n = 1; n <= 10; n++) {
        const working = byLane.get(`elves-${n}`)!.filter((r) => r.state === "working");
        expect(working).toHaveLength(logged(`Elf ${n} meeting in the study`));
        served += working.length;
      }
      expect(served).toBe(3 * meetings);
      // Santa's intervals are in order and never overlap.
      for (let i = 1; i < santa.length; i++) expect(santa[i]!.from).toBeGreaterThanOrEqual(santa[i - 1]!.to);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test("bad timeline flags are refused before anything runs", async () => {
    for (const [argv, message] of [
      [["--timeline"], /--timeline needs a file name/],
      [["--timeline", "run.png"], /its name must end in \.svg, got "run\.png"/],
      [["--png", "run.png"], /--png goes with --timeline/],
      [["--speedup", "2"], /--speedup only goes with --view/],
      [["--view", "--speedup", "0"], /--speedup must be a number above 0 and at most 1000/],
      [["--view", "--quiet"], /give --view or --quiet, not both/],
    ] as const) {
      const { code, stdout, stderr } = await runSimulate([...argv]);
      expect(code).toBe(2);
      expect(stderr).toMatch(message);
      expect(stdout).toBe("");
    }
  });

  test.skipIf(chromiumPath === null)(
    "--png renders the timeline in headless Chromium",
    async () => {
      const dir = mkdtempSync(join(tmpdir(), "north-pole-timeline-"));
      try {
        const svgFile = join(dir, "run.svg");
        const pngFile = join(dir, "run.png");
        const { code } = await runSimulate(["--rounds", "6", "--quiet", "--timeline", svgFile, "--png", pngFile]);
        expect(code).toBe(0);
        const root = parseXml(readFileSync(svgFile, "utf8")).doc.documentElement!;
        // At scale 2: twice the SVG's size in pixels.
        expect(pngSize(readFileSync(pngFile))).toEqual({
          width: 2 * Number(root.getAttribute("width")),
          height: 2 * Number(root.getAttribute("height")),
        });
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    },
    60_000,
  );
});

describe("npm run simulate -- --view", () => {
  test("draws the command center after every step, paced by --speedup, then the summary", async () => {
    const started = performance.now();
    const { code, stdout } = await runSimulate(["--view", "--plain", "--speedup", "20", "--minutes", "0.05"]);
    const wallMs = performance.now() - started;
    expect(code).toBe(0);
    // Three virtual seconds at 20x take at least 150 ms of real time.
    expect(wallMs).toBeGreaterThanOrEqual(150);
    const [frames, summary] = [stdout.slice(0, stdout.indexOf("\nSummary:")), stdout.slice(stdout.indexOf("\nSummary:"))];
    const drawn = frames.split(PLAIN_FRAME_SEPARATOR);
    expect(drawn.length).toBeGreaterThan(10);
    for (const frame of drawn) {
      expect(frame).toContain("North Pole command center (offline simulator)");
      for (const title of Object.values(PANEL_TITLES)) expect(frame).toContain(title);
      expect(frame).not.toMatch(EMOJI);
    }
    // The last frame counts the rounds the summary counts, and shows the
    // latest lines, newest first.
    const last = drawn[drawn.length - 1]!;
    const rounds = /rounds {14}\d+: (\d+) of reindeer, (\d+) of elves/.exec(summary)!;
    expect(last).toContain(`Rounds: ${rounds[1]} deliveries, ${rounds[2]} meetings`);
    expect(last).toMatch(/Virtual time 00:00:03\.000, 20x real time, seed 1\. Ctrl-C to quit\./);
    const events = last.slice(last.indexOf("Latest events")).split("\n").slice(1, 9);
    const stamps = events.map((l) => l.trim().slice(0, 12));
    expect([...stamps].sort().reverse()).toEqual(stamps);
    // No log lines of their own: the view shows them.
    expect(frames).not.toMatch(/^00:00:\d\d\.\d{3} /m);
  });
});
