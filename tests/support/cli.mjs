// The pinned agent CLIs (installed by scripts/setup-clients.sh) and how tests run them.
import { execFile, spawn } from "node:child_process";
import path from "node:path";
import { promisify } from "node:util";

const clients = (await promisify(execFile)("sh", ["scripts/setup-clients.sh"])).stdout.trim();
export const claude = path.join(clients, "node_modules/@anthropic-ai/claude-code/bin/claude.exe");
export const codex = path.join(clients, "node_modules/.bin/codex");
export const gemini = path.join(clients, "node_modules/@google/gemini-cli/bundle/gemini.js");

/** Runs a CLI with stdin closed (Codex reads a prompt from an open stdin). */
export function cli(command, args, { cwd, env, timeout = 90_000 }) {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd, env, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d) => (stdout += d));
    child.stderr.on("data", (d) => (stderr += d));
    const timer = setTimeout(() => child.kill("SIGKILL"), timeout);
    child.on("close", (code) => {
      clearTimeout(timer);
      if (code === 0) resolve({ stdout, stderr });
      else reject(new Error(`${path.basename(command)} exited with ${code}\n${stderr}\n${stdout}`));
    });
  });
}
