/**
 * Finds the URL of the Convex deployment that the Convex CLI configured.
 * `npx convex dev` writes it to `.env.local` as CONVEX_URL (or under a
 * framework's public name, VITE_CONVEX_URL and the like, when the project uses
 * one); a self-hosted deployment is configured with CONVEX_SELF_HOSTED_URL.
 * The process environment wins over the files.
 */
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";

/** The names the Convex CLI writes the deployment URL under, in order. */
export const CONVEX_URL_NAMES = [
  "CONVEX_URL",
  "VITE_CONVEX_URL",
  "NEXT_PUBLIC_CONVEX_URL",
  "PUBLIC_CONVEX_URL",
  "REACT_APP_CONVEX_URL",
  "EXPO_PUBLIC_CONVEX_URL",
  "CONVEX_SELF_HOSTED_URL",
] as const;

/** The files looked at, in order, relative to the project root. */
export const ENV_FILES = [".env.local", ".env"] as const;

export type DeploymentUrl = { url: string; from: string };

/** Parses a dotenv file: KEY=VALUE lines, `export`, quotes and comments. */
export function parseEnvFile(text: string): Record<string, string> {
  const vars: Record<string, string> = {};
  for (const raw of text.split(/\r?\n/)) {
    const m = raw.match(/^\s*(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)\s*=\s*(.*)$/);
    if (!m) continue;
    let value = m[2]!.trim();
    const quote = value[0];
    if ((quote === '"' || quote === "'" || quote === "`") && value.indexOf(quote, 1) > 0) {
      value = value.slice(1, value.indexOf(quote, 1));
    } else {
      value = value.replace(/\s+#.*$/, "").trim();
    }
    vars[m[1]!] = value;
  }
  return vars;
}

/** The first deployment URL in `sources`, each a set of variables. */
export function findDeploymentUrl(
  sources: { name: string; vars: Record<string, string | undefined> }[],
): DeploymentUrl | null {
  for (const source of sources) {
    for (const key of CONVEX_URL_NAMES) {
      const value = source.vars[key]?.trim();
      if (value) return { url: value, from: `${key} in ${source.name}` };
    }
  }
  return null;
}

/** The deployment URL from the environment, then .env.local, then .env. */
export function loadDeploymentUrl(
  root = process.cwd(),
  env: Record<string, string | undefined> = process.env,
): DeploymentUrl | null {
  const sources: { name: string; vars: Record<string, string | undefined> }[] = [
    { name: "the environment", vars: env },
  ];
  for (const file of ENV_FILES) {
    const path = join(root, file);
    if (existsSync(path)) {
      sources.push({ name: file, vars: parseEnvFile(readFileSync(path, "utf8")) });
    }
  }
  return findDeploymentUrl(sources);
}
