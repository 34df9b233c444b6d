// fakes.ts — test doubles: a fake Portcullis gateway behind a fake `fetch` (with the browser's
// cookie jar, shared by every "tab"), a fake Web Locks manager, a fake BroadcastChannel bus and
// a manual clock. They model only what the client relies on.

import type {
  BroadcastChannelLike,
  LockManagerLike,
  PortcullisOptions,
  StorageLike,
} from "../src/index.js";
import { PortcullisClient } from "../src/index.js";

export const BASE = "http://gw.test";

/** A manual clock in epoch milliseconds. */
export class Clock {
  ms = 1_700_000_000_000;
  now = (): number => this.ms;
  advance(seconds: number): void {
    this.ms += seconds * 1000;
  }
}

/** An unsigned JWT-shaped token with `exp` (seconds); the client never verifies it. */
export function makeJwt(claims: Record<string, unknown>): string {
  const encode = (value: unknown) => {
    const bytes = new TextEncoder().encode(JSON.stringify(value));
    const base64 = btoa(String.fromCharCode(...bytes));
    return base64.replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  };
  return `${encode({ alg: "EdDSA", typ: "JWT" })}.${encode(claims)}.c2lnbmF0dXJl`;
}

export interface RecordedCall {
  url: string;
  path: string;
  method: string;
  headers: Headers;
  credentials: RequestCredentials | undefined;
  body: unknown;
}

interface FakeSession {
  id: string;
  email: string;
  current: string;
  revoked: boolean;
}

interface IssuedAccess {
  sessionId: string;
  exp: number;
  revoked: boolean;
}

function json(status: number, body: unknown, headers: Record<string, string> = {}): Response {
  return new Response(JSON.stringify(body), {
    status,
    headers: { "Content-Type": "application/json", ...headers },
  });
}

function apiError(status: number, code: string, headers: Record<string, string> = {}): Response {
  return json(status, { error: code, message: `fake: ${code}` }, headers);
}

/**
 * The fake gateway. Refresh tokens rotate on every /auth/refresh; presenting a rotated-away
 * token is reuse (no grace window here, so a duplicate rotation shows up as a failure).
 */
export class FakeGateway {
  readonly clock: Clock;
  accessTtl = 900;
  /** The browser's cookie jar (one per browser, shared by all tabs). */
  cookie: string | null = null;
  readonly calls: RecordedCall[] = [];
  readonly users = new Map<string, string>([["alice@example.com", "correct horse battery"]]);
  /** Delay before /auth/refresh answers, in real milliseconds. */
  refreshDelayMs = 5;
  /** When set, /auth/refresh answers with this instead of rotating (then cleared if `once`). */
  refreshOverride: { response: () => Response; once: boolean } | null = null;
  /** When set, API calls answer with this. */
  apiOverride: ((call: RecordedCall) => Response | null) | null = null;

  readonly #sessions = new Map<string, FakeSession>();
  readonly #refreshIndex = new Map<string, string>(); // refresh token → session id (current or old)
  readonly #access = new Map<string, IssuedAccess>();
  #counter = 0;

  constructor(clock: Clock) {
    this.clock = clock;
  }

  callsTo(path: string): RecordedCall[] {
    return this.calls.filter((call) => call.path === path);
  }

  get refreshCount(): number {
    return this.callsTo("/auth/refresh").length;
  }

  /** Revokes one access token (as `/admin/tokens/revoke` would). */
  revokeAccess(token: string): void {
    const issued = this.#access.get(token);
    if (issued !== undefined) issued.revoked = true;
  }

  /** Revokes every session (as an admin would), leaving the cookie in the jar. */
  revokeAllSessions(): void {
    for (const session of this.#sessions.values()) session.revoked = true;
  }

  fetch = async (input: RequestInfo | URL, init?: RequestInit): Promise<Response> => {
    const request = input instanceof Request ? input : null;
    const url = request !== null ? request.url : String(input);
    const call: RecordedCall = {
      url,
      path: new URL(url).pathname,
      method: (init?.method ?? request?.method ?? "GET").toUpperCase(),
      headers: new Headers(init?.headers ?? request?.headers),
      credentials: init?.credentials ?? request?.credentials,
      body: init?.body !== undefined ? init.body : (request?.body ?? null),
    };
    this.calls.push(call);
    switch (call.path) {
      case "/auth/login":
        return this.#login(call);
      case "/auth/refresh":
        return this.#refresh(call);
      case "/auth/logout":
        return this.#logout(call);
      case "/auth/logout-all":
        return this.#logoutAll(call);
      default:
        return this.#api(call);
    }
  };

  #issue(session: FakeSession): Response {
    const access = makeJwt({
      sub: session.email,
      sid: session.id,
      exp: Math.floor(this.clock.now() / 1000) + this.accessTtl,
      jti: `a${++this.#counter}`,
    });
    this.#access.set(access, {
      sessionId: session.id,
      exp: this.clock.now() + this.accessTtl * 1000,
      revoked: false,
    });
    const refresh = `r${++this.#counter}`;
    session.current = refresh;
    this.#refreshIndex.set(refresh, session.id);
    this.cookie = refresh;
    return json(200, { access_token: access, token_type: "Bearer", expires_in: this.accessTtl });
  }

  #login(call: RecordedCall): Response {
    const body = JSON.parse(String(call.body)) as { email: string; password: string };
    if (body.email === "locked@example.com") return apiError(403, "account_locked");
    if (body.email === "busy@example.com") {
      return apiError(429, "rate_limited", { "Retry-After": "17" });
    }
    if (this.users.get(body.email) !== body.password) return apiError(401, "invalid_credentials");
    const session: FakeSession = {
      id: `s${++this.#counter}`,
      email: body.email,
      current: "",
      revoked: false,
    };
    this.#sessions.set(session.id, session);
    return this.#issue(session);
  }

  async #refresh(call: RecordedCall): Promise<Response> {
    if (call.headers.get("x-csrf") !== "1") return apiError(403, "csrf_required");
    const presented = this.cookie;
    await new Promise((resolve) => setTimeout(resolve, this.refreshDelayMs));
    if (this.refreshOverride !== null) {
      const { response, once } = this.refreshOverride;
      if (once) this.refreshOverride = null;
      const answer = response();
      if (answer.status === 401) this.cookie = null;
      return answer;
    }
    const fail = (code: string) => {
      this.cookie = null;
      return apiError(401, code, { "WWW-Authenticate": "Bearer" });
    };
    if (presented === null) return fail("missing_refresh_token");
    const sessionId = this.#refreshIndex.get(presented);
    const session = sessionId === undefined ? undefined : this.#sessions.get(sessionId);
    if (session === undefined) return fail("invalid_refresh_token");
    if (session.revoked) return fail("session_revoked");
    if (session.current !== presented) {
      session.revoked = true;
      return fail("refresh_token_reused");
    }
    return this.#issue(session);
  }

  #bearer(call: RecordedCall): IssuedAccess | null {
    const header = call.headers.get("authorization");
    if (header === null || !header.startsWith("Bearer ")) return null;
    const issued = this.#access.get(header.slice("Bearer ".length));
    if (issued === undefined || issued.revoked || issued.exp <= this.clock.now()) return null;
    const session = this.#sessions.get(issued.sessionId);
    return session === undefined || session.revoked ? null : issued;
  }

  #logout(call: RecordedCall): Response {
    if (call.headers.get("x-csrf") !== "1") return apiError(403, "csrf_required");
    const sessionId = this.cookie === null ? undefined : this.#refreshIndex.get(this.cookie);
    const session = sessionId === undefined ? undefined : this.#sessions.get(sessionId);
    if (session !== undefined) session.revoked = true;
    this.cookie = null;
    return new Response(null, { status: 204 });
  }

  #logoutAll(call: RecordedCall): Response {
    const issued = this.#bearer(call);
    if (issued === null) {
      return apiError(401, "invalid_token", { "WWW-Authenticate": 'Bearer error="invalid_token"' });
    }
    this.revokeAllSessions();
    this.cookie = null;
    return new Response(null, { status: 204 });
  }

  #api(call: RecordedCall): Response {
    const override = this.apiOverride?.(call) ?? null;
    if (override !== null) return override;
    const issued = this.#bearer(call);
    if (issued === null) {
      return apiError(401, "invalid_token", { "WWW-Authenticate": 'Bearer error="invalid_token"' });
    }
    return json(200, { ok: true, path: call.path });
  }
}

/** A fake Web Locks manager: exclusive, FIFO, granted asynchronously, abortable while queued. */
export class FakeLockManager implements LockManagerLike {
  grants = 0;
  readonly #held = new Set<string>();
  readonly #queues = new Map<string, Array<() => void>>();

  request<T>(
    name: string,
    options: { mode?: "exclusive" | "shared"; signal?: AbortSignal },
    callback: (lock: unknown) => Promise<T> | T,
  ): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const { signal } = options;
      if (signal?.aborted) {
        reject(new DOMException("The lock request was aborted", "AbortError"));
        return;
      }
      const queue = this.#queues.get(name) ?? [];
      this.#queues.set(name, queue);
      const onAbort = () => {
        const index = queue.indexOf(grant);
        if (index >= 0) queue.splice(index, 1);
        reject(new DOMException("The lock request was aborted", "AbortError"));
      };
      const grant = () => {
        signal?.removeEventListener("abort", onAbort);
        this.grants += 1;
        Promise.resolve()
          .then(() => callback({ name, mode: "exclusive" }))
          .then(resolve, reject)
          .finally(() => {
            this.#held.delete(name);
            this.#pump(name);
          });
      };
      signal?.addEventListener("abort", onAbort, { once: true });
      queue.push(grant);
      this.#pump(name);
    });
  }

  #pump(name: string): void {
    if (this.#held.has(name)) return;
    const queue = this.#queues.get(name);
    const next = queue?.shift();
    if (next === undefined) return;
    this.#held.add(name);
    // Granting crosses a process boundary in a browser: never synchronous.
    setTimeout(next, 0);
  }
}

/** A fake BroadcastChannel bus: messages are structured-cloned and delivered after `latencyMs`. */
export class FakeBroadcastBus {
  latencyMs = 0;
  readonly posted: Array<{ name: string; data: unknown }> = [];
  readonly #channels = new Set<FakeChannel>();

  factory = (name: string): BroadcastChannelLike => {
    const channel = new FakeChannel(this, name);
    this.#channels.add(channel);
    return channel;
  };

  deliver(sender: FakeChannel, data: unknown): void {
    this.posted.push({ name: sender.name, data });
    for (const channel of this.#channels) {
      if (channel === sender || channel.name !== sender.name) continue;
      const copy = structuredClone(data);
      setTimeout(() => channel.onmessage?.({ data: copy } as MessageEvent), this.latencyMs);
    }
  }

  remove(channel: FakeChannel): void {
    this.#channels.delete(channel);
  }
}

class FakeChannel implements BroadcastChannelLike {
  onmessage: ((event: MessageEvent) => void) | null = null;
  readonly name: string;
  readonly #bus: FakeBroadcastBus;

  constructor(bus: FakeBroadcastBus, name: string) {
    this.#bus = bus;
    this.name = name;
  }

  postMessage(message: unknown): void {
    this.#bus.deliver(this, message);
  }

  close(): void {
    this.#bus.remove(this);
  }
}

/** A Web Storage area in memory, recording every write (`set key=value`, `remove key`). */
export class MemoryStorage implements StorageLike {
  readonly items = new Map<string, string>();
  readonly writes: string[] = [];
  /** When set, every call throws it (storage disabled or full). */
  failure: Error | null = null;

  getItem(key: string): string | null {
    if (this.failure !== null) throw this.failure;
    return this.items.get(key) ?? null;
  }

  setItem(key: string, value: string): void {
    if (this.failure !== null) throw this.failure;
    this.writes.push(`set ${key}=${value}`);
    this.items.set(key, value);
  }

  removeItem(key: string): void {
    if (this.failure !== null) throw this.failure;
    this.writes.push(`remove ${key}`);
    this.items.delete(key);
  }
}

/** The key of the signed-out marker of the fake gateway's clients. */
export const MARKER = `portcullis:${BASE}:signed-out`;

/**
 * One browser: a gateway with its cookie jar, a lock manager, a broadcast bus and the origin's
 * localStorage, shared by tabs.
 */
export class Browser {
  readonly clock = new Clock();
  readonly gateway = new FakeGateway(this.clock);
  readonly locks: FakeLockManager | null;
  readonly bus: FakeBroadcastBus | null;
  readonly storage = new MemoryStorage();
  readonly tabs: PortcullisClient[] = [];

  constructor(features: { locks: boolean; broadcast: boolean } = { locks: true, broadcast: true }) {
    this.locks = features.locks ? new FakeLockManager() : null;
    this.bus = features.broadcast ? new FakeBroadcastBus() : null;
  }

  openTab(options: PortcullisOptions = {}): PortcullisClient {
    const client = new PortcullisClient({
      baseUrl: BASE,
      fetch: this.gateway.fetch,
      ...options,
      environment: {
        now: this.clock.now,
        locks: this.locks,
        broadcastChannel: this.bus === null ? null : this.bus.factory,
        crossTabTimeoutMs: 1_000,
        claimSettleMs: 10,
        handoffMs: 10,
        storage: this.storage,
        ...options.environment,
      },
    });
    this.tabs.push(client);
    return client;
  }

  closeAll(): void {
    for (const tab of this.tabs) tab.close();
  }
}

/** Resolves after real `ms` milliseconds (lets fake broadcasts and lock grants be delivered). */
export function settle(ms = 30): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

export const ALICE = { email: "alice@example.com", password: "correct horse battery" };

/** The bearer token a recorded call carried. */
export function bearerOf(call: RecordedCall): string | null {
  const header = call.headers.get("authorization");
  return header?.startsWith("Bearer ") ? header.slice(7) : null;
}
