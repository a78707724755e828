// `npm start`: runs the North Pole on a Convex deployment and shows its log.
//
// - With a deployment configured (CONVEX_DEPLOY_KEY, CONVEX_DEPLOYMENT or
//   CONVEX_SELF_HOSTED_URL in the environment, .env.local or .env), it uses
//   that one, as the Convex CLI would.
// - With none, it runs a local Convex backend with no account
//   (CONVEX_AGENT_MODE=anonymous, see docs.convex.dev/cli/agent-mode).
//
// Then `npx convex dev` pushes the functions, runs `sim:start` once they are
// live, and keeps tailing the function logs (the classic lines) until Ctrl-C.
// A cloud deployment keeps running after Ctrl-C; a local backend stops with
// this process and the North Pole resumes when it is started again.
import { spawn } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";

// What the Convex CLI reads to choose a deployment, in its order: the
// environment, then .env.local, then .env.
const DEPLOYMENT_VARS = ["CONVEX_DEPLOY_KEY", "CONVEX_DEPLOYMENT", "CONVEX_SELF_HOSTED_URL"];

function configuredDeployment() {
  for (const name of DEPLOYMENT_VARS) {
    if (process.env[name]) return { name, text: `${name} from the environment` };
  }
  for (const file of [".env.local", ".env"]) {
    if (!existsSync(file)) continue;
    const text = readFileSync(file, "utf8");
    for (const name of DEPLOYMENT_VARS) {
      const match = text.match(new RegExp(`^\\s*(?:export\\s+)?${name}\\s*=\\s*["']?([^"'\\s#]+)`, "m"));
      if (match) {
        // A deploy key is a secret: name it, never print it.
        const shown = name === "CONVEX_DEPLOY_KEY" ? name : `${name}=${match[1]}`;
        return { name, text: `${shown} in ${file}` };
      }
    }
  }
  return null;
}

const env = { ...process.env };
const deployment = configuredDeployment();
if (deployment) {
  console.log(`North Pole: using the deployment configured by ${deployment.text}.`);
} else {
  console.log(
    "North Pole: no deployment configured; running a local Convex backend with no account.",
  );
  env.CONVEX_AGENT_MODE = env.CONVEX_AGENT_MODE ?? "anonymous";
}

const args = ["convex", "dev", "--run", "sim:start", "--tail-logs", "always"];
console.log(`North Pole: npx ${args.join(" ")}`);
const child = spawn("npx", args, { stdio: "inherit", env });
child.on("exit", (code, signal) => {
  if (code !== 0 && signal === null) {
    console.error(
      deployment
        ? `North Pole: \`npx convex dev\` failed (exit ${code}); its messages above say why. Check that ${deployment.name} names a deployment you can reach.`
        : `North Pole: \`npx convex dev\` failed (exit ${code}); its messages above say why. The local backend is a binary that the Convex CLI downloads on first use, so the first run needs the internet.`,
    );
  }
  process.exit(code ?? 0);
});
for (const sig of ["SIGINT", "SIGTERM"]) {
  process.on(sig, () => child.kill(sig));
}
