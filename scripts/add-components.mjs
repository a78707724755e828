// Adds the `components` export to convex/_generated/api.{d.ts,js}, from the
// components that convex/convex.config.ts installs. Run by scripts/codegen.sh.
import { readFileSync, writeFileSync } from "node:fs";

const config = readFileSync("convex/convex.config.ts", "utf8");
const imports = new Map(
  [...config.matchAll(/import\s+(\w+)\s+from\s+"([^"]+)\/convex\.config(?:\.js)?"/g)].map(
    (m) => [m[1], m[2]],
  ),
);
const uses = [...config.matchAll(/app\.use\((\w+),\s*\{\s*name:\s*"([^"]+)"/g)].map(
  (m) => ({ pkg: imports.get(m[1]), name: m[2] }),
);
if (uses.some((u) => !u.pkg)) {
  throw new Error("add-components: could not resolve a component's package");
}

const dts = "convex/_generated/api.d.ts";
let types = readFileSync(dts, "utf8");
if (!types.includes("export declare const components")) {
  const lines = uses.map(
    (u) =>
      `  ${u.name}: import("${u.pkg}/_generated/component.js").ComponentApi<"${u.name}">;`,
  );
  types += `\nexport declare const components: {\n${lines.join("\n")}\n};\n`;
  writeFileSync(dts, types);
}

const js = "convex/_generated/api.js";
let code = readFileSync(js, "utf8");
if (!code.includes("componentsGeneric")) {
  code = code.replace(
    'import { anyApi } from "convex/server";',
    'import { anyApi, componentsGeneric } from "convex/server";',
  );
  code += "export const components = componentsGeneric();\n";
  writeFileSync(js, code);
}
console.log(`convex/_generated written (components: ${uses.map((u) => u.name).join(", ")})`);
