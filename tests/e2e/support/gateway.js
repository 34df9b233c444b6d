// support/gateway.js — owns the gateway processes of the end-to-end suite: starting a real
// `portcullis serve` on a free port with a fresh data directory (embedded tier), stopping it and
// removing its data, and the Node-side helpers tests use to act on it (register a user, create
// an admin key, call the admin API, read security events). It never drives a browser.

import { spawn, execFile } from "node:child_process";
import { constants } from "node:fs";
import { access, mkdtemp, rm } from "node:fs/promises";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { eventually, sleep } from "./wait.js";

const run = promisify(execFile);
const e2eDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");

/** The gateway binary: `PORTCULLIS_BIN`, else the debug build of the repository. */
export const binary = path.resolve(
  e2eDir,
  process.env.PORTCULLIS_BIN ?? "../../target/debug/portcullis",
);

/** Every user of the suite gets this password; only its length matters to the gateway. */
export const PASSWORD = "correct horse battery staple";

const STARTUP_TIMEOUT_MS = 15_000;
const LOG_LIMIT = 64 * 1024;

/** Children still running, killed if the test process dies without calling `stop()`. */
const running = new Set();
process.on("exit", () => {
  for (const child of running) child.kill("SIGKILL");
});

/**
 * Starts a gateway with the demo app and no allowed origins. `accessTtl` and `leeway` are
 * gateway durations; leeway defaults to 0s so that an expired token is refused the second it
 * expires (the gateway's default 10s would keep it alive). `env` adds or overrides variables.
 */
export async function startGateway({ accessTtl = "15m", leeway = "0s", env = {} } = {}) {
  try {
    await access(binary, constants.X_OK);
  } catch {
    throw new Error(
      `no gateway binary at ${binary}: run \`cargo build -p portcullis --bin portcullis\` ` +
        "in the repository, or set PORTCULLIS_BIN",
    );
  }
  const dataDir = await mkdtemp(path.join(tmpdir(), "portcullis-e2e-"));
  const settings = {
    PORTCULLIS_DATA_DIR: dataDir,
    PORTCULLIS_DEMO: "true",
    PORTCULLIS_ACCESS_TTL: accessTtl,
    PORTCULLIS_LEEWAY: leeway,
    PORTCULLIS_ALLOWED_ORIGINS: "",
    RUST_LOG: process.env.RUST_LOG ?? "warn",
    ...env,
  };
  // The port is found free and then handed over, so another process can take it in between;
  // the gateway then exits at once saying so, and another port is tried. Other failures are
  // reported as they are.
  for (let attempt = 1; ; attempt++) {
    const port = await freePort();
    try {
      const serving = await spawnServing(port, settings);
      return new Gateway(port, dataDir, settings, serving);
    } catch (error) {
      if (attempt < 3 && /address already in use/i.test(error.message)) continue;
      await rm(dataDir, { recursive: true, force: true });
      throw error;
    }
  }
}

class Gateway {
  #adminKey = null;

  constructor(port, dataDir, settings, serving) {
    this.port = port;
    this.dataDir = dataDir;
    this.origin = `http://127.0.0.1:${port}`;
    this.settings = settings;
    this.serving = serving;
  }

  /** The demo app's address on the gateway's own origin. */
  get demoUrl() {
    return `${this.origin}/demo/`;
  }

  /** What the gateway wrote to stdout and stderr (the last 64 KiB), for failure messages. */
  logs() {
    return this.serving.logs();
  }

  /** Registers a new user with a unique address through `POST /auth/register`; its email. */
  async register(prefix = "user") {
    const email = `${prefix}-${crypto.randomUUID()}@example.com`;
    const response = await fetch(`${this.origin}/auth/register`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ email, password: PASSWORD }),
    });
    if (response.status !== 201) {
      throw new Error(`register ${email}: ${response.status} ${await response.text()}`);
    }
    return email;
  }

  /**
   * An admin key made by the command line against this gateway's data directory (created once).
   * Waits until the running server accepts it: it learns of CLI writes by polling the database.
   */
  async adminKey() {
    if (this.#adminKey !== null) return this.#adminKey;
    const { stdout } = await run(binary, ["admin", "key", "create", "--name", "e2e", "--json"], {
      env: { ...process.env, ...this.settings },
    });
    const key = JSON.parse(stdout).key;
    if (typeof key !== "string" || !key.startsWith("pcl_admin_")) {
      throw new Error(`admin key create printed no key: ${stdout}`);
    }
    await eventually(
      async () => (await this.#adminCall(key, "GET", "/admin/events?limit=1")).status === 200,
      { what: "the gateway to accept the new admin key" },
    );
    this.#adminKey = key;
    return key;
  }

  /** Calls the admin API with the admin key; answers `{status, body}` (body parsed if JSON). */
  async admin(method, route, body) {
    const response = await this.#adminCall(await this.adminKey(), method, route, body);
    const text = await response.text();
    let parsed = text;
    try {
      parsed = JSON.parse(text);
    } catch {
      // Not JSON (e.g. an empty 204): keep the text.
    }
    return { status: response.status, body: parsed };
  }

  /** Security events of `kind`, newest first (all of them for `user`, if given). */
  async events(kind, { user } = {}) {
    const query = new URLSearchParams({ kind, limit: "100" });
    if (user !== undefined) query.set("user", user);
    const { status, body } = await this.admin("GET", `/admin/events?${query}`);
    if (status !== 200) throw new Error(`events ${kind}: ${status} ${JSON.stringify(body)}`);
    return body.events;
  }

  /** Stops the gateway (SIGTERM, then SIGKILL if it lingers) and deletes its data. */
  async stop() {
    await this.serving.stop();
    await rm(this.dataDir, { recursive: true, force: true });
  }

  #adminCall(key, method, route, body) {
    return fetch(`${this.origin}${route}`, {
      method,
      headers: {
        authorization: `Bearer ${key}`,
        ...(body === undefined ? {} : { "content-type": "application/json" }),
      },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  }
}

/** Spawns `portcullis serve` on `port` and resolves once `/healthz` answers 200. */
async function spawnServing(port, settings) {
  const child = spawn(binary, ["serve"], {
    env: { ...process.env, ...settings, PORTCULLIS_LISTEN: `127.0.0.1:${port}` },
    stdio: ["ignore", "pipe", "pipe"],
  });
  running.add(child);
  let log = "";
  const keep = (chunk) => {
    log = (log + chunk).slice(-LOG_LIMIT);
  };
  child.stdout.setEncoding("utf8").on("data", keep);
  child.stderr.setEncoding("utf8").on("data", keep);
  let over = false;
  // "error" without "exit" is how a failed spawn ends; either way the process is gone.
  const exited = new Promise((resolve) => {
    const gone = (why) => {
      over = true;
      running.delete(child);
      resolve(why);
    };
    child.once("exit", (code, signal) => gone(`exit ${code ?? signal}`));
    child.once("error", (error) => gone(error.message));
  });

  const stop = async () => {
    if (over) return;
    child.kill("SIGTERM");
    const timer = setTimeout(() => child.kill("SIGKILL"), 5_000);
    await exited;
    clearTimeout(timer);
  };

  // Polls until /healthz answers 200, giving up as soon as the process is gone.
  const deadline = Date.now() + STARTUP_TIMEOUT_MS;
  for (;;) {
    if (over) {
      throw new Error(`the gateway ended during startup (${await exited}):\n${log}`);
    }
    try {
      const health = await fetch(`http://127.0.0.1:${port}/healthz`, {
        signal: AbortSignal.timeout(1_000),
      });
      if (health.status === 200) break;
    } catch {
      // Not listening yet.
    }
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`the gateway on port ${port} did not answer /healthz in time:\n${log}`);
    }
    await sleep(50);
  }
  return { logs: () => log, stop };
}

function freePort() {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}
