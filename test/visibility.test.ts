/**
 * Security: every function that changes state is internal. Only the two
 * read-only queries that a client view subscribes to are public.
 */
import { expect, test } from "vitest";
import { appModules } from "./setup";

type Registered = {
  isQuery?: boolean;
  isMutation?: boolean;
  isAction?: boolean;
  isPublic?: boolean;
  isInternal?: boolean;
};

async function exportedFunctions() {
  const out: { name: string; kind: string; visibility: string }[] = [];
  for (const [path, load] of Object.entries(appModules)) {
    // Generated code and the app definition register no functions.
    if (path.includes("/_generated/") || path.endsWith("convex.config.ts")) continue;
    const module = path.replace(/^.*convex\//, "").replace(/\.ts$/, "");
    for (const [name, value] of Object.entries(await load())) {
      const f = value as Registered;
      if (typeof value !== "function" && typeof value !== "object") continue;
      if (!f || !(f.isQuery || f.isMutation || f.isAction)) continue;
      out.push({
        name: `${module}:${name}`,
        kind: f.isQuery ? "query" : f.isMutation ? "mutation" : "action",
        visibility: f.isPublic ? "public" : f.isInternal ? "internal" : "unknown",
      });
    }
  }
  return out.sort((a, b) => a.name.localeCompare(b.name));
}

test("no public mutation or action", async () => {
  const fns = await exportedFunctions();
  expect(fns.length).toBeGreaterThan(10);
  const exposed = fns.filter((f) => f.kind !== "query" && f.visibility !== "internal");
  expect(exposed).toEqual([]);
});

test("the public functions are exactly the read-only queries sim:status and sim:log", async () => {
  const fns = await exportedFunctions();
  const publicOnes = fns.filter((f) => f.visibility === "public");
  expect(publicOnes).toEqual([
    { name: "sim:log", kind: "query", visibility: "public" },
    { name: "sim:status", kind: "query", visibility: "public" },
  ]);
});

test("every operator command is an internal mutation", async () => {
  const fns = await exportedFunctions();
  for (const command of ["seed", "start", "stop", "setSpeeds", "setChaos", "setLogRetention"]) {
    expect(fns).toContainEqual({ name: `sim:${command}`, kind: "mutation", visibility: "internal" });
  }
});
