/**
 * A live screen for a terminal: switches to the alternate screen and hides the
 * cursor, redraws each frame in place, and puts the terminal back as it was on
 * close, on Ctrl-C (SIGINT), on SIGTERM and on any exit. When the output is not
 * a terminal (a pipe, a file, CI), it writes plain frames with no escape codes:
 * every frame, separated by a blank line and a rule, or only the last one.
 */

/** The part of a stream the screen uses (process.stdout fits). */
export type ScreenOutput = {
  write(chunk: string): unknown;
  isTTY?: boolean;
  columns?: number;
  rows?: number;
  on?(event: "resize", listener: () => void): unknown;
  off?(event: "resize", listener: () => void): unknown;
};

/** The part of `process` the screen uses; replaceable in tests. */
export type ScreenProcess = {
  on(event: "SIGINT" | "SIGTERM" | "exit", listener: () => void): unknown;
  off(event: "SIGINT" | "SIGTERM" | "exit", listener: () => void): unknown;
  exit(code?: number): never | void;
};

export type ScreenOptions = {
  /** Where to draw. Default process.stdout. */
  out?: ScreenOutput;
  /**
   * Not a terminal: "every" writes each frame (default), "last" only the last
   * one, on close.
   */
  plainFrames?: "every" | "last";
  /**
   * On a terminal, write the last frame to the normal screen after leaving
   * the alternate one, so it stays visible after exit. Default true.
   */
  keepLastFrame?: boolean;
  /**
   * Called on Ctrl-C / SIGTERM after the terminal is restored. Default: exit
   * with 130 (SIGINT) or 143 (SIGTERM). Handle the signals yourself with
   * `handleSignals: false`.
   */
  onInterrupt?: (signal: "SIGINT" | "SIGTERM") => void;
  handleSignals?: boolean;
  /** Called when the terminal is resized (redraw with the new `width()`). */
  onResize?: () => void;
  /** Default: the global `process`. */
  process?: ScreenProcess;
};

export type Screen = {
  /** Whether frames are redrawn in place (the output is a terminal). */
  readonly live: boolean;
  /** Columns to render for: the terminal's width, or 80. */
  width(): number;
  /** Rows of the terminal, or undefined when not a terminal. */
  height(): number | undefined;
  /** Shows a frame: in place on a terminal, else as plain text. */
  draw(frame: string): void;
  /** Restores the terminal. Idempotent. */
  close(): void;
};

export const ESC = {
  enterAlternateScreen: "\x1b[?1049h",
  leaveAlternateScreen: "\x1b[?1049l",
  hideCursor: "\x1b[?25l",
  showCursor: "\x1b[?25h",
  home: "\x1b[H",
  clearToEndOfLine: "\x1b[K",
  clearToEndOfScreen: "\x1b[J",
} as const;

/** The separator between plain frames. */
export const PLAIN_FRAME_SEPARATOR = "\n" + "-".repeat(40) + "\n\n";

export function createScreen(options: ScreenOptions = {}): Screen {
  const out = options.out ?? process.stdout;
  const proc: ScreenProcess = options.process ?? process;
  const live = out.isTTY === true;
  const plainFrames = options.plainFrames ?? "every";
  const keepLastFrame = options.keepLastFrame ?? true;
  let last: string | null = null;
  let framesWritten = 0;
  let closed = false;
  const handleSignals = options.handleSignals ?? true;

  const restore = () => {
    if (closed) return;
    closed = true;
    proc.off("exit", onExit);
    if (handleSignals) {
      proc.off("SIGINT", onSigint);
      proc.off("SIGTERM", onSigterm);
    }
    if (options.onResize) out.off?.("resize", options.onResize);
    if (live) {
      out.write(ESC.showCursor + ESC.leaveAlternateScreen);
      if (keepLastFrame && last !== null) out.write(last + "\n");
    } else if (plainFrames === "last" && last !== null) {
      out.write(last + "\n");
    }
  };
  const onExit = () => restore();
  const interrupted = (signal: "SIGINT" | "SIGTERM") => {
    restore();
    if (options.onInterrupt) options.onInterrupt(signal);
    else proc.exit(signal === "SIGINT" ? 130 : 143);
  };
  const onSigint = () => interrupted("SIGINT");
  const onSigterm = () => interrupted("SIGTERM");

  // "exit" runs synchronously however the process ends (a crash included),
  // so the terminal is never left without a cursor in the alternate screen.
  proc.on("exit", onExit);
  if (handleSignals) {
    proc.on("SIGINT", onSigint);
    proc.on("SIGTERM", onSigterm);
  }
  if (options.onResize) out.on?.("resize", options.onResize);
  if (live) out.write(ESC.enterAlternateScreen + ESC.hideCursor);

  return {
    live,
    width: () => (live && out.columns ? out.columns : 80),
    height: () => (live ? out.rows : undefined),
    draw(frame: string) {
      if (closed) return;
      last = frame;
      if (live) {
        // Overwrite in place: no full clear, so no flicker. A frame taller
        // than the terminal is cut, or it would scroll and tear.
        let lines = frame.split("\n");
        if (out.rows && lines.length > out.rows) lines = lines.slice(0, out.rows);
        out.write(
          ESC.home +
            lines.map((l) => l + ESC.clearToEndOfLine).join("\n") +
            ESC.clearToEndOfScreen,
        );
      } else if (plainFrames === "every") {
        out.write((framesWritten > 0 ? PLAIN_FRAME_SEPARATOR : "") + frame + "\n");
        framesWritten += 1;
      }
    },
    close: restore,
  };
}
