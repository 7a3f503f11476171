import { spawn, type ChildProcess } from "node:child_process";
import { WORKER_NODE_ARGS } from "@/lib/queue/worker-command";
import { captureOutput } from "../child-output";

const spawned = new Set<ChildProcess>();
let hooked = false;

/** Children of a test die with it, also when the test runner stops it with a signal. */
export function killOnExit(child: ChildProcess): void {
  spawned.add(child);
  child.once("exit", () => spawned.delete(child));
  if (hooked) return;
  hooked = true;
  const killAll = () => {
    for (const c of spawned) c.kill("SIGKILL");
  };
  process.once("exit", killAll);
  for (const signal of ["SIGTERM", "SIGINT"] as const) {
    process.once(signal, () => {
      killAll();
      process.exit(130);
    });
  }
}

/** A worker process as `npm run worker` starts it; resolves once it says it is ready. */
export async function startWorkerProcess(
  env: Record<string, string> = {},
  options: { timeoutMs?: number } = {},
): Promise<ChildProcess> {
  const child = spawn(process.execPath, WORKER_NODE_ARGS, {
    env: { ...process.env, WORKER_WATCH: "false", ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  killOnExit(child);
  captureOutput(child.stdout);
  captureOutput(child.stderr);
  let log = "";
  child.stderr!.on("data", (d: Buffer) => {
    log = (log + d.toString()).slice(-4000);
    // TEST_WORKER_LOGS=1 shows what the workers log (errors and retries are expected in fault tests).
    if (process.env.TEST_WORKER_LOGS) process.stderr.write(d);
  });
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`worker not ready in time:\n${log}`)), options.timeoutMs ?? 60_000);
    child.stdout!.on("data", (d: Buffer) => {
      if (d.toString().includes("worker ready")) {
        clearTimeout(timer);
        resolve();
      }
    });
    child.once("exit", (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`worker exited (${code ?? signal}) before it was ready:\n${log}`));
    });
  });
  child.stdout!.resume();
  return child;
}

export function exited(child: ChildProcess): Promise<void> {
  return new Promise<void>((resolve) =>
    child.exitCode !== null || child.signalCode !== null ? resolve() : child.once("exit", () => resolve()),
  );
}

export async function stopProcess(child: ChildProcess, signal: NodeJS.Signals = "SIGTERM"): Promise<void> {
  const done = exited(child);
  child.kill(signal);
  await done;
}
