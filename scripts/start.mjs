// `npm start`: runs the North Pole on a Convex deployment and shows its log.
//
// - With a deployment configured (CONVEX_DEPLOYMENT or CONVEX_SELF_HOSTED_URL in
//   .env.local or the environment), it uses that one.
// - With none, it runs a local Convex backend with no account
//   (CONVEX_AGENT_MODE=anonymous, see docs.convex.dev/cli/agent-mode).
//
// Then `npx convex dev` pushes the functions, runs `sim:start` once they are
// live, and keeps tailing the function logs (the classic lines) until Ctrl-C.
// A cloud deployment keeps running after Ctrl-C; a local backend stops with
// this process and the North Pole resumes when it is started again.
import { spawn } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";

function configuredDeployment() {
  for (const name of ["CONVEX_DEPLOYMENT", "CONVEX_SELF_HOSTED_URL"]) {
    if (process.env[name]) return `${name} from the environment`;
  }
  if (existsSync(".env.local")) {
    const text = readFileSync(".env.local", "utf8");
    const match = text.match(/^\s*(CONVEX_DEPLOYMENT|CONVEX_SELF_HOSTED_URL)\s*=\s*(\S+)/m);
    if (match) return `${match[1]}=${match[2]} from .env.local`;
  }
  return null;
}

const env = { ...process.env };
const deployment = configuredDeployment();
if (deployment) {
  console.log(`North Pole: using the deployment configured by ${deployment}.`);
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
      "North Pole: `npx convex dev` failed. A local backend needs its binary, which the Convex CLI downloads on first use; a cloud deployment needs `npx convex login` or a CONVEX_DEPLOY_KEY.",
    );
  }
  process.exit(code ?? 0);
});
for (const sig of ["SIGINT", "SIGTERM"]) {
  process.on(sig, () => child.kill(sig));
}
