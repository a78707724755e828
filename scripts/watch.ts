/**
 * `npm run watch`: the North Pole command center, live, for the deployment
 * that the Convex CLI configured (the URL `npx convex dev` wrote to
 * `.env.local`). It subscribes to the two read-only public queries,
 * `sim:status` and `sim:log`, and redraws on every change. It changes nothing:
 * the controls stay with `npx convex run`.
 */
import { ConvexClient } from "convex/browser";
import { api } from "../convex/_generated/api";
import { splitInlineValues } from "./args";
import { loadDeploymentUrl } from "./view/deployment";
import {
  renderNorthPole,
  type LogLines,
  type NorthPoleStatus,
} from "./view/render";
import { createScreen } from "./view/terminal";

const USAGE = `Usage: npm run watch [-- [--plain] [--log N] [--url URL] [--connect-timeout S]]

Shows the North Pole of the Convex deployment that the Convex CLI configured
(CONVEX_URL in .env.local, written by \`npm start\` or \`npx convex dev\`), live,
until Ctrl-C. Read-only: it only subscribes to sim:status and sim:log.

  --plain    letters and ASCII instead of emoji, for terminals without them
  --log N    log lines to show (0 to 50, default 8)
  --url URL  watch this deployment URL instead
  --connect-timeout S
             give up, with exit status 1, when the deployment has not answered
             within S seconds of the start (default 30; 0 waits forever). Once
             connected, it reconnects for as long as it runs.
  --help     this text`;

type Args = {
  plain: boolean;
  log: number;
  url: string | null;
  connectTimeoutS: number;
};

function parseArgs(raw: string[]): Args | string {
  const argv = splitInlineValues(raw);
  const args: Args = { plain: false, log: 8, url: null, connectTimeoutS: 30 };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === "--plain") args.plain = true;
    else if (a === "--log" || a === "--url" || a === "--connect-timeout") {
      const value = argv[++i];
      if (value === undefined || value.startsWith("--")) {
        return `${a} needs a value`;
      }
      if (a === "--url") args.url = value;
      else if (a === "--log") {
        const n = Number(value);
        if (!Number.isInteger(n) || n < 0 || n > 50) {
          return `--log must be an integer from 0 to 50, got ${value}`;
        }
        args.log = n;
      } else {
        const n = Number(value);
        if (!Number.isFinite(n) || n < 0 || n > 3600) {
          return `--connect-timeout must be a number of seconds from 0 to 3600, got ${value}`;
        }
        args.connectTimeoutS = n;
      }
    } else return `unknown option ${a}`;
  }
  return args;
}

async function main(): Promise<number> {
  const argv = process.argv.slice(2);
  if (argv.includes("--help") || argv.includes("-h")) {
    console.log(USAGE);
    return 0;
  }
  const parsed = parseArgs(argv);
  if (typeof parsed === "string") {
    console.error(`npm run watch: ${parsed}.\n\n${USAGE}`);
    return 2;
  }
  const args: Args = parsed;
  const deployment = args.url
    ? { url: args.url, from: "--url" }
    : loadDeploymentUrl();
  if (deployment === null) {
    console.error(
      "No Convex deployment configured: run `npm start` (or `npx convex dev`) first, which writes CONVEX_URL to .env.local.",
    );
    return 1;
  }

  let status: NorthPoleStatus | undefined;
  let log: LogLines = [];
  const problems = new Map<string, string>();
  let connection = "connecting";

  let client: ConvexClient;
  try {
    client = new ConvexClient(deployment.url, {
      // The client's own messages would scribble over the picture: show
      // them in it instead.
      logger: {
        log: () => {},
        logVerbose: () => {},
        warn: (...a: unknown[]) => problem("client", a.join(" ")),
        error: (...a: unknown[]) => problem("client", a.join(" ")),
      },
    });
  } catch (e) {
    console.error(
      `Cannot watch ${deployment.url} (${deployment.from}): ${(e as Error).message}`,
    );
    return 1;
  }

  let closing = false;
  let connectTimer: ReturnType<typeof setTimeout> | undefined;
  const done = new Promise<number>((resolve) => {
    const shutdown = (code: number, message?: string) => {
      if (closing) return;
      closing = true;
      clearTimeout(connectTimer);
      screen.close();
      if (message !== undefined) console.error(message);
      void client.close().finally(() => resolve(code));
    };
    const screen = createScreen({
      onInterrupt: () => shutdown(0),
      onResize: () => redraw(),
    });

    function redraw() {
      if (closing) return;
      const footer = [
        `Watching ${deployment!.url} (${deployment!.from}), read-only. Ctrl-C to quit.`,
      ];
      if (connection !== "connected") footer.push(`Connection: ${connection}.`);
      for (const p of problems.values()) footer.push(p);
      if (status === undefined) {
        screen.draw(
          [
            "North Pole command center",
            "",
            `Waiting for the first answer of sim:status from ${deployment!.url}...`,
            "",
            ...footer,
          ].join("\n"),
        );
        return;
      }
      screen.draw(
        renderNorthPole(status, log, {
          emoji: !args.plain,
          width: screen.width(),
          logLines: args.log,
          footer,
        }),
      );
    }

    problem = (key, message) => {
      problems.set(key, message);
      redraw();
    };

    if (args.connectTimeoutS > 0) {
      connectTimer = setTimeout(
        () =>
          shutdown(
            1,
            `Cannot reach the Convex deployment at ${deployment!.url} (${deployment!.from}) after ${args.connectTimeoutS} s: is it running? \`npm start\` (or \`npx convex dev\`) runs one.`,
          ),
        args.connectTimeoutS * 1000,
      );
    }
    client.subscribeToConnectionState((state) => {
      if (state.hasEverConnected) clearTimeout(connectTimer);
      connection = state.isWebSocketConnected
        ? "connected"
        : state.hasEverConnected
          ? "lost, reconnecting"
          : state.connectionRetries > 0
            ? `cannot reach the deployment (${state.connectionRetries} ${state.connectionRetries === 1 ? "try" : "tries"} so far)`
            : "connecting";
      redraw();
    });
    const failed = (query: string) => (e: Error) =>
      problem(
        query,
        `${query} failed: ${e.message.split("\n")[0]} (are the functions pushed? \`npx convex dev\` pushes them)`,
      );
    client.onUpdate(
      api.sim.status,
      {},
      (s) => {
        status = s;
        problems.delete("sim:status");
        redraw();
      },
      failed("sim:status"),
    );
    client.onUpdate(
      api.sim.log,
      { limit: Math.max(1, args.log) },
      (lines) => {
        log = lines;
        problems.delete("sim:log");
        redraw();
      },
      failed("sim:log"),
    );
    redraw();
  });
  return await done;
}

/** Records a problem to show under the picture (set once the screen is up). */
let problem: (key: string, message: string) => void = (_key, message) =>
  console.error(message);

process.exit(await main());
