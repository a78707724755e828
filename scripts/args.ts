/**
 * Command-line flags, as the scripts take them: `--flag value` or
 * `--flag=value`, the same everywhere.
 */

/** Splits each `--flag=value` into `--flag` and `value`. */
export function splitInlineValues(argv: readonly string[]): string[] {
  return argv.flatMap((arg) => {
    const eq = arg.indexOf("=");
    return arg.startsWith("--") && eq > 2 ? [arg.slice(0, eq), arg.slice(eq + 1)] : [arg];
  });
}
