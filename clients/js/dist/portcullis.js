// @portcullis/client 0.1.0: generated from src/ by `npm run build`; do not edit.

// src/errors.ts
var PortcullisError = class extends Error {
  status;
  code;
  retryAfter;
  constructor(status, code, message, options = {}) {
    super(message, options.cause === void 0 ? void 0 : { cause: options.cause });
    this.name = "PortcullisError";
    this.status = status;
    this.code = code;
    if (options.retryAfter !== void 0) this.retryAfter = options.retryAfter;
  }
};
var NOT_LOGGED_IN = "not_logged_in";
function isNotLoggedIn(error) {
  return error instanceof PortcullisError && error.code === NOT_LOGGED_IN;
}
function notLoggedIn(cause) {
  const detail = cause instanceof PortcullisError ? ` (the server said ${cause.code})` : "";
  return new PortcullisError(
    401,
    NOT_LOGGED_IN,
    `there is no Portcullis session${detail}: log in first`,
    { cause }
  );
}
function networkError(path, cause) {
  return new PortcullisError(0, "network_error", `could not reach Portcullis (${path})`, {
    cause
  });
}
async function errorFromResponse(response) {
  let code = `http_${response.status}`;
  let message = response.statusText || `HTTP ${response.status}`;
  try {
    const body = JSON.parse(await response.text());
    if (isRecord(body)) {
      if (typeof body.error === "string" && body.error !== "") code = body.error;
      if (typeof body.message === "string" && body.message !== "") message = body.message;
    }
  } catch {
  }
  const retryAfter = parseRetryAfter(response.headers.get("Retry-After"));
  return new PortcullisError(
    response.status,
    code,
    message,
    retryAfter === void 0 ? {} : { retryAfter }
  );
}
function parseRetryAfter(value, now = Date.now()) {
  if (value === null) return void 0;
  const trimmed = value.trim();
  if (/^\d+$/.test(trimmed)) return Number(trimmed);
  const date = Date.parse(trimmed);
  if (Number.isNaN(date)) return void 0;
  return Math.max(0, Math.ceil((date - now) / 1e3));
}
function isRecord(value) {
  return typeof value === "object" && value !== null;
}

// src/token.ts
async function readTokenResponse(response, now) {
  const receivedAt = now();
  let body;
  try {
    body = JSON.parse(await response.text());
  } catch (cause) {
    throw invalidResponse(response.status, "the token response is not JSON", cause);
  }
  return tokenFromBody(body, receivedAt, response.status);
}
function tokenFromBody(body, receivedAt, status = 200) {
  if (!isRecord(body) || typeof body.access_token !== "string" || body.access_token === "") {
    throw invalidResponse(status, "the token response has no access_token");
  }
  const type = body.token_type;
  if (type !== void 0 && (typeof type !== "string" || type.toLowerCase() !== "bearer")) {
    throw invalidResponse(status, `unsupported token_type ${String(type)}`);
  }
  const value = body.access_token;
  let expiresAt = Infinity;
  const expiresIn = body.expires_in;
  if (typeof expiresIn === "number" && Number.isFinite(expiresIn) && expiresIn > 0) {
    expiresAt = receivedAt + expiresIn * 1e3;
  } else {
    const exp = readJwtExpiry(value);
    if (exp !== null && exp > receivedAt) expiresAt = exp;
  }
  return { value, issuedAt: receivedAt, expiresAt };
}
function readJwtExpiry(jwt) {
  const exp = readJwtClaims(jwt)?.exp;
  return typeof exp === "number" && Number.isFinite(exp) ? exp * 1e3 : null;
}
function readJwtSessionId(jwt) {
  const sid = readJwtClaims(jwt)?.sid;
  return typeof sid === "string" && sid !== "" ? sid : null;
}
function readJwtClaims(jwt) {
  const parts = jwt.split(".");
  if (parts.length !== 3 || parts[1] === void 0) return null;
  try {
    const payload = JSON.parse(base64UrlDecode(parts[1]));
    return isRecord(payload) ? payload : null;
  } catch {
    return null;
  }
}
function base64UrlDecode(segment) {
  const base64 = segment.replace(/-/g, "+").replace(/_/g, "/");
  const padded = base64 + "=".repeat((4 - base64.length % 4) % 4);
  const binary = atob(padded);
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  return new TextDecoder().decode(bytes);
}
function refreshDueAt(token, marginMs) {
  const lifetime = token.expiresAt - token.issuedAt;
  const margin = Math.min(marginMs, Math.max(0, lifetime / 2));
  return token.expiresAt - margin;
}
function isFresh(token, now, marginMs) {
  return now < refreshDueAt(token, marginMs);
}
function isAccessToken(value) {
  return isRecord(value) && typeof value.value === "string" && value.value !== "" && typeof value.issuedAt === "number" && typeof value.expiresAt === "number" && !Number.isNaN(value.issuedAt) && !Number.isNaN(value.expiresAt);
}
function invalidResponse(status, message, cause) {
  return new PortcullisError(status, "invalid_response", message, { cause });
}

// src/channel.ts
var TabChannel = class {
  tabId;
  #channel;
  #handlers = /* @__PURE__ */ new Set();
  constructor(factory, name) {
    this.tabId = randomId();
    this.#channel = null;
    if (factory === null) return;
    try {
      const channel = factory(name);
      channel.onmessage = (event) => this.#receive(event.data);
      this.#channel = channel;
    } catch {
    }
  }
  get available() {
    return this.#channel !== null;
  }
  post(message) {
    if (this.#channel === null) return;
    try {
      this.#channel.postMessage({ v: 1, from: this.tabId, ...message });
    } catch {
    }
  }
  subscribe(handler) {
    this.#handlers.add(handler);
    return () => {
      this.#handlers.delete(handler);
    };
  }
  close() {
    if (this.#channel === null) return;
    this.#channel.onmessage = null;
    this.#channel.close();
    this.#channel = null;
    this.#handlers.clear();
  }
  #receive(data) {
    const message = parseMessage(data);
    if (message === null || message.from === this.tabId) return;
    for (const handler of [...this.#handlers]) handler(message);
  }
};
function parseMessage(data) {
  if (!isRecord(data) || data.v !== 1 || typeof data.from !== "string") return null;
  const from = data.from;
  switch (data.kind) {
    case "token":
      return isAccessToken(data.token) ? {
        v: 1,
        kind: "token",
        from,
        token: {
          value: data.token.value,
          issuedAt: data.token.issuedAt,
          expiresAt: data.token.expiresAt
        }
      } : null;
    case "ended":
      return (data.state === "logged-out" || data.state === "revoked") && isTime(data.at) ? { v: 1, kind: "ended", from, state: data.state, at: data.at } : null;
    case "claim":
      return isTime(data.at) ? { v: 1, kind: "claim", from, at: data.at } : null;
    case "release":
      return { v: 1, kind: "release", from };
    default:
      return null;
  }
}
function isTime(value) {
  return typeof value === "number" && Number.isFinite(value);
}
function randomId() {
  const crypto = globalThis.crypto;
  if (crypto !== void 0 && typeof crypto.randomUUID === "function") return crypto.randomUUID();
  return `${Date.now().toString(36)}-${Math.random().toString(36).slice(2)}`;
}

// src/crossTab.ts
function createCoordinator(options) {
  if (options.locks !== null) return new LockCoordinator(options, options.locks);
  if (options.channel.available) return new BroadcastCoordinator(options);
  return new LocalCoordinator();
}
var LocalCoordinator = class {
  mode = "local";
  async exclusive(task, settled) {
    if (settled()) return { ran: false };
    return { ran: true, value: await task() };
  }
  serialize(task) {
    return task();
  }
  close() {
  }
};
var LockCoordinator = class {
  mode = "web-locks";
  #options;
  #locks;
  constructor(options, locks) {
    this.#options = options;
    this.#locks = locks;
  }
  exclusive(task, settled) {
    if (settled()) return Promise.resolve({ ran: false });
    const { lockName, watch, timeoutMs, handoffMs } = this.#options;
    return new Promise((resolve, reject) => {
      const abort = new AbortController();
      let granted = false;
      let timedOut = false;
      const stopWatching = watch(() => {
        if (!granted && settled()) abort.abort();
      });
      const timer = setTimeout(() => {
        timedOut = true;
        abort.abort();
      }, timeoutMs);
      const finish = () => {
        stopWatching();
        clearTimeout(timer);
      };
      const run = async (holdingLock) => {
        let value;
        try {
          value = await task();
        } catch (error) {
          reject(error);
          return;
        }
        resolve({ ran: true, value });
        if (holdingLock && handoffMs > 0) await sleep(handoffMs);
      };
      this.#locks.request(lockName, { mode: "exclusive", signal: abort.signal }, async () => {
        granted = true;
        finish();
        await nextTask();
        if (settled()) {
          resolve({ ran: false });
          return;
        }
        await run(true);
      }).catch((error) => {
        finish();
        if (granted) return;
        if (!abort.signal.aborted) {
          reject(error);
        } else if (settled()) {
          resolve({ ran: false });
        } else if (timedOut) {
          void run(false);
        } else {
          reject(error);
        }
      });
    });
  }
  async serialize(task) {
    const abort = new AbortController();
    const timer = setTimeout(() => abort.abort(), this.#options.timeoutMs);
    let granted = false;
    try {
      return await this.#locks.request(
        this.#options.lockName,
        { mode: "exclusive", signal: abort.signal },
        () => {
          granted = true;
          clearTimeout(timer);
          return task();
        }
      );
    } catch (error) {
      if (!granted && abort.signal.aborted) return task();
      throw error;
    } finally {
      clearTimeout(timer);
    }
  }
  close() {
  }
};
var BroadcastCoordinator = class {
  mode = "broadcast";
  #options;
  /** Live claims of other tabs: tab id → when claimed (their clock) and when heard (ours). */
  #claims = /* @__PURE__ */ new Map();
  #wakers = /* @__PURE__ */ new Set();
  #unsubscribe;
  constructor(options) {
    this.#options = options;
    this.#unsubscribe = [
      options.channel.subscribe((message) => this.#receive(message)),
      options.watch(() => this.#wake())
    ];
  }
  async exclusive(task, settled) {
    const { channel, now, timeoutMs, claimSettleMs } = this.#options;
    if (settled()) return { ran: false };
    if (this.#livePeerClaim() !== null) {
      await this.#waitUntil(() => settled() || this.#livePeerClaim() === null, timeoutMs);
      if (settled()) return { ran: false };
    }
    const mine = { from: channel.tabId, at: now() };
    channel.post({ kind: "claim", at: mine.at });
    try {
      if (await this.#waitUntil(settled, claimSettleMs)) return { ran: false };
      const rival = this.#earliestPeerClaim();
      if (rival !== null && precedes(rival, mine)) {
        const rivalFrom = rival.from;
        await this.#waitUntil(() => settled() || !this.#claims.has(rivalFrom), timeoutMs);
        if (settled()) return { ran: false };
      }
      return { ran: true, value: await task() };
    } finally {
      channel.post({ kind: "release" });
    }
  }
  async serialize(task) {
    if (this.#livePeerClaim() !== null) {
      await this.#waitUntil(() => this.#livePeerClaim() === null, this.#options.timeoutMs);
    }
    return task();
  }
  close() {
    for (const unsubscribe of this.#unsubscribe) unsubscribe();
    this.#claims.clear();
    this.#wake();
  }
  #receive(message) {
    if (message.kind === "claim") {
      this.#claims.set(message.from, { at: message.at, heard: this.#options.now() });
    } else {
      this.#claims.delete(message.from);
    }
    this.#wake();
  }
  #livePeerClaim() {
    const now = this.#options.now();
    for (const [from, claim] of this.#claims) {
      if (now - claim.heard < this.#options.timeoutMs) return { from, at: claim.at };
      this.#claims.delete(from);
    }
    return null;
  }
  #earliestPeerClaim() {
    let earliest = null;
    for (const [from, claim] of this.#claims) {
      const candidate = { from, at: claim.at };
      if (earliest === null || precedes(candidate, earliest)) earliest = candidate;
    }
    return earliest;
  }
  /** Resolves true as soon as `condition()` holds (checked on every wake), false on timeout. */
  #waitUntil(condition, ms) {
    if (condition()) return Promise.resolve(true);
    return new Promise((resolve) => {
      const done = (result) => {
        clearTimeout(timer);
        this.#wakers.delete(waker);
        resolve(result);
      };
      const waker = () => {
        if (condition()) done(true);
      };
      const timer = setTimeout(() => done(condition()), ms);
      this.#wakers.add(waker);
    });
  }
  #wake() {
    for (const waker of [...this.#wakers]) waker();
  }
};
function precedes(a, b) {
  return a.at < b.at || a.at === b.at && a.from < b.from;
}
function nextTask() {
  return new Promise((resolve) => setTimeout(resolve, 0));
}
function sleep(ms) {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

// src/request.ts
function withBearer(input, init, token) {
  const headers = new Headers(isRequest(input) ? input.headers : void 0);
  if (init?.headers !== void 0) {
    new Headers(init.headers).forEach((value, name) => headers.set(name, value));
  }
  headers.set("Authorization", `Bearer ${token}`);
  return [input, { ...init, headers }];
}
function isReplayable(input, init) {
  if (init !== void 0 && init.body !== void 0) return isReplayableBody(init.body);
  if (isRequest(input)) return input.body === null;
  return true;
}
function isReplayableBody(body) {
  if (body === null || typeof body === "string") return true;
  if (body instanceof ArrayBuffer || ArrayBuffer.isView(body)) return true;
  if (typeof Blob !== "undefined" && body instanceof Blob) return true;
  if (typeof FormData !== "undefined" && body instanceof FormData) return true;
  if (typeof URLSearchParams !== "undefined" && body instanceof URLSearchParams) return true;
  return false;
}
function isRequest(input) {
  return typeof Request !== "undefined" && input instanceof Request;
}
function discard(response) {
  response.body?.cancel().catch(() => {
  });
}

// src/session.ts
var Session = class {
  #token = null;
  /** The token value an API answered 401 to: refresh before using it again. */
  #rejected = null;
  #state = "logged-out";
  /** Bumped on every change of token or state; only compared within this tab. */
  #version = 0;
  /**
   * Epoch ms of the newest event applied (a token's `issuedAt`, or when the session ended). Tabs
   * share one clock, so messages from other tabs older than this are stale and are ignored.
   */
  #stamp = 0;
  /** The `sid` claim of `#token`, read once when it arrives. */
  #sessionId = null;
  /** Renewals of the current session's token in this tab, and when the latest arrived. */
  #refreshes = 0;
  #lastRefreshAt = null;
  #listeners = /* @__PURE__ */ new Set();
  #updateListeners = /* @__PURE__ */ new Set();
  #watchers = /* @__PURE__ */ new Set();
  get state() {
    return this.#state;
  }
  get token() {
    return this.#token;
  }
  get version() {
    return this.#version;
  }
  get stamp() {
    return this.#stamp;
  }
  get sessionId() {
    return this.#sessionId;
  }
  get refreshes() {
    return this.#refreshes;
  }
  get lastRefreshAt() {
    return this.#lastRefreshAt;
  }
  isRejected(value) {
    return this.#rejected === value;
  }
  /** Keeps `token` as the current access token; the state becomes `logged-in`. */
  hold(token) {
    const sessionId = readJwtSessionId(token.value);
    if (this.#token !== null && this.#sessionId === sessionId) {
      this.#refreshes += 1;
      this.#lastRefreshAt = token.issuedAt;
    } else {
      this.#refreshes = 0;
      this.#lastRefreshAt = null;
    }
    this.#sessionId = sessionId;
    this.#token = token;
    this.#rejected = null;
    this.#stamp = token.issuedAt;
    this.#changed("logged-in");
  }
  /** Forgets the token; the state becomes `state`. `at` is when the evidence for it began. */
  end(state, at) {
    this.#token = null;
    this.#sessionId = null;
    this.#refreshes = 0;
    this.#lastRefreshAt = null;
    this.#rejected = null;
    this.#stamp = at;
    this.#changed(state);
  }
  /** Records that an API refused `value`, so the next use refreshes first. */
  reject(value) {
    if (this.#token?.value === value) this.#rejected = value;
  }
  /** Public subscription: called only when the state actually changes. */
  onChange(listener) {
    this.#listeners.add(listener);
    return () => {
      this.#listeners.delete(listener);
    };
  }
  /**
   * Public subscription: called after every change of token or state (each refresh included),
   * after the state listeners.
   */
  onUpdate(listener) {
    this.#updateListeners.add(listener);
    return () => {
      this.#updateListeners.delete(listener);
    };
  }
  /** Internal subscription: called on every change of token or state. */
  watch(watcher) {
    this.#watchers.add(watcher);
    return () => {
      this.#watchers.delete(watcher);
    };
  }
  #changed(next) {
    this.#version += 1;
    const previous = this.#state;
    this.#state = next;
    for (const watcher of [...this.#watchers]) watcher();
    if (previous !== next) {
      for (const listener of [...this.#listeners]) isolated(() => listener(next));
    }
    for (const listener of [...this.#updateListeners]) isolated(listener);
  }
};
function isolated(listener) {
  try {
    listener();
  } catch (error) {
    queueMicrotask(() => {
      throw error;
    });
  }
}

// src/signedOut.ts
var SignedOutMarker = class {
  #storage;
  #key;
  constructor(storage, key) {
    this.#storage = storage;
    this.#key = key;
  }
  /** True only when this browser recorded the end of its session and nothing since. */
  get isSet() {
    if (this.#storage === null) return false;
    try {
      return this.#storage.getItem(this.#key) === "1";
    } catch {
      return false;
    }
  }
  /** The session ended here: the refresh cookie is gone, or was given up. */
  set() {
    this.#try((storage) => storage.setItem(this.#key, "1"));
  }
  /** The gateway just issued a refresh cookie: a session exists. */
  clear() {
    this.#try((storage) => storage.removeItem(this.#key));
  }
  #try(write) {
    if (this.#storage === null) return;
    try {
      write(this.#storage);
    } catch {
    }
  }
};
function defaultMarkerStorage(baseUrl) {
  try {
    const page = globalThis.location;
    const sameOrigin = baseUrl === "" || page !== void 0 && new URL(baseUrl, page.href).origin === page.origin;
    if (!sameOrigin) return null;
    const storage = globalThis.localStorage;
    return storage !== void 0 && typeof storage.getItem === "function" ? storage : null;
  } catch {
    return null;
  }
}

// src/singleFlight.ts
var SingleFlight = class {
  #current = null;
  /** The promise in flight, if any. */
  get current() {
    return this.#current;
  }
  /** Starts `task` unless one is in flight, in which case its promise is returned instead. */
  run(task) {
    if (this.#current !== null) return this.#current;
    const flight = Promise.resolve().then(task).finally(() => {
      if (this.#current === flight) this.#current = null;
    });
    this.#current = flight;
    return flight;
  }
};

// src/client.ts
var DEFAULT_MARGIN_SECONDS = 30;
var REVOKING_CODES = /* @__PURE__ */ new Set(["session_revoked", "refresh_token_reused"]);
var PortcullisClient = class {
  #base;
  #marginMs;
  #fetch;
  #now;
  #session = new Session();
  #refreshes = new SingleFlight();
  #channel;
  #coordinator;
  #stopListening;
  #signedOut;
  constructor(options = {}) {
    this.#base = (options.baseUrl ?? "").replace(/\/+$/, "");
    const margin = options.refreshMarginSeconds ?? DEFAULT_MARGIN_SECONDS;
    this.#marginMs = Number.isFinite(margin) && margin >= 0 ? margin * 1e3 : DEFAULT_MARGIN_SECONDS * 1e3;
    const fetchImpl = options.fetch;
    this.#fetch = fetchImpl === void 0 ? (input, init) => globalThis.fetch(input, init) : (input, init) => fetchImpl(input, init);
    const env = options.environment ?? {};
    this.#now = env.now ?? Date.now;
    this.#signedOut = new SignedOutMarker(
      env.storage === void 0 ? defaultMarkerStorage(this.#base) : env.storage,
      `portcullis:${this.#base || "same-origin"}:signed-out`
    );
    const lockName = options.lockName ?? `portcullis:${this.#base || "same-origin"}`;
    this.#channel = new TabChannel(
      env.broadcastChannel === void 0 ? defaultBroadcastChannel() : env.broadcastChannel,
      `${lockName}:tabs`
    );
    this.#stopListening = this.#channel.subscribe((message) => this.#receive(message));
    this.#coordinator = createCoordinator({
      lockName,
      locks: env.locks === void 0 ? defaultLocks() : env.locks,
      channel: this.#channel,
      watch: (watcher) => this.#session.watch(watcher),
      now: this.#now,
      timeoutMs: env.crossTabTimeoutMs ?? 1e4,
      claimSettleMs: env.claimSettleMs ?? 100,
      handoffMs: env.handoffMs ?? 50
    });
  }
  /** The session state of this tab. Starts `logged-out` until `login()` or `restore()`. */
  get state() {
    return this.#session.state;
  }
  /**
   * What the client knows about the session, for display: its id, the access token's expiry,
   * how many times it was refreshed and when. A snapshot; `onSessionInfo` tells when it changes.
   */
  get sessionInfo() {
    const session = this.#session;
    const token = session.token;
    const expiresAt = token !== null && Number.isFinite(token.expiresAt) ? token.expiresAt : null;
    return {
      state: session.state,
      sessionId: session.sessionId,
      receivedAt: token?.issuedAt ?? null,
      expiresAt,
      refreshDueAt: token !== null && expiresAt !== null ? refreshDueAt(token, this.#marginMs) : null,
      refreshes: session.refreshes,
      lastRefreshAt: session.lastRefreshAt
    };
  }
  /** How refreshes are coordinated across tabs in this environment. */
  get coordination() {
    return this.#coordinator.mode;
  }
  /**
   * Logs in with email and password. On success the state is `logged-in` and other tabs adopt
   * the token. Throws PortcullisError (`invalid_credentials`, `account_locked`, `rate_limited`
   * with `retryAfter`, ...) and leaves the state unchanged on failure.
   */
  login(email, password) {
    return this.#coordinator.serialize(async () => {
      const response = await this.#post("/auth/login", {
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify({ email, password })
      });
      if (!response.ok) throw await errorFromResponse(response);
      this.#signedOut.clear();
      const token = await readTokenResponse(response, this.#now);
      this.#session.hold(token);
      this.#channel.post({ kind: "token", token });
    });
  }
  /**
   * Logs out this browser's session: the server revokes it and clears the cookie; the token is
   * forgotten and every tab goes `logged-out`. The local logout happens even when the server
   * cannot be reached; the error is then rethrown, since the cookie may still be there.
   */
  logout() {
    return this.#coordinator.serialize(async () => {
      const token = this.#session.token?.value;
      const headers = { "X-CSRF": "1" };
      if (token !== void 0) headers.Authorization = `Bearer ${token}`;
      let failure = null;
      try {
        const response = await this.#post("/auth/logout", { headers });
        if (!response.ok && response.status !== 401) failure = await errorFromResponse(response);
      } catch (error) {
        failure = error instanceof PortcullisError ? error : networkError("/auth/logout", error);
      }
      this.#end("logged-out", this.#now());
      if (failure !== null) throw failure;
    });
  }
  /**
   * Revokes every session of the user (all browsers and devices), then goes `logged-out` here
   * and in the other tabs. Throws `not_logged_in` without a session.
   */
  async logoutAll() {
    const first = await this.#usableOrRefreshed();
    await this.#coordinator.serialize(async () => {
      let token = this.#session.token?.value ?? first;
      let response = await this.#post("/auth/logout-all", {
        headers: { Authorization: `Bearer ${token}` }
      });
      if (response.status === 401) {
        discard(response);
        token = await this.#rotate();
        response = await this.#post("/auth/logout-all", {
          headers: { Authorization: `Bearer ${token}` }
        });
      }
      if (!response.ok) throw await errorFromResponse(response);
      this.#end("logged-out", this.#now());
    });
  }
  /**
   * For page load: asks the server for a token with the refresh cookie (one coordinated
   * `/auth/refresh`). Resolves true when logged in, false when there is no session (the state is
   * then `logged-out` or `revoked`). Rejects with PortcullisError on 503 / network failure,
   * leaving the state as it was.
   *
   * Makes no request, and resolves false, when the session in this browser ended here and no
   * session began since (the signed-out marker).
   */
  async restore() {
    const token = this.#session.token;
    if (token !== null && this.#isUsable(token)) return true;
    if (token === null && this.#refreshes.current === null && this.#signedOut.isSet) return false;
    try {
      await this.#refresh(token?.value ?? null);
      return true;
    } catch (error) {
      if (isNotLoggedIn(error)) return false;
      throw error;
    }
  }
  /**
   * `fetch` with `Authorization: Bearer <access token>`. Refreshes first when the token is due;
   * on a 401 refreshes once and retries once, if the body can be sent again (otherwise the 401
   * is returned, and the next call refreshes first).
   *
   * Without a session it never sends the request: it throws PortcullisError `not_logged_in`
   * (status 401). The same error is thrown when a refresh reveals the session is gone; failures
   * of a refresh for other reasons (503 `unavailable`, `network_error`) are thrown as they are.
   * Failures of the request itself reject as `fetch` would.
   */
  async authFetch(input, init) {
    const token = await this.#usableOrRefreshed();
    const replayable = isReplayable(input, init);
    const response = await this.#fetch(...withBearer(input, init, token));
    if (response.status !== 401) return response;
    this.#session.reject(token);
    if (!replayable) return response;
    discard(response);
    const fresh = await this.#refresh(token);
    return this.#fetch(...withBearer(input, init, fresh));
  }
  /**
   * A usable access token, refreshing first when it is due; null without a session. Rejects on
   * 503 / network failure of the refresh.
   */
  async accessToken() {
    try {
      return await this.#usableOrRefreshed();
    } catch (error) {
      if (isNotLoggedIn(error)) return null;
      throw error;
    }
  }
  /** Calls `listener` on every change of `state` (including ones caused by other tabs). */
  onSessionChange(listener) {
    return this.#session.onChange(listener);
  }
  /**
   * Calls `listener` with the new `sessionInfo` after every change of token or state: login,
   * each refresh (here or adopted from another tab), the end of the session.
   */
  onSessionInfo(listener) {
    return this.#session.onUpdate(() => listener(this.sessionInfo));
  }
  /** Stops listening to other tabs (e.g. when a single-page app tears the client down). */
  close() {
    this.#stopListening();
    this.#coordinator.close();
    this.#channel.close();
  }
  // --- internals -------------------------------------------------------------------------------
  #isUsable(token) {
    return !this.#session.isRejected(token.value) && isFresh(token, this.#now(), this.#marginMs);
  }
  /** The current token if usable, else a refreshed one; `not_logged_in` without a session. */
  async #usableOrRefreshed() {
    const token = this.#session.token;
    if (token === null) {
      const inFlight = this.#refreshes.current;
      if (inFlight !== null) return inFlight;
      throw notLoggedIn();
    }
    if (this.#isUsable(token)) return token.value;
    return this.#refresh(token.value);
  }
  /** One refresh per tab at a time; `stale` is the token the caller found wanting (or null). */
  #refresh(stale) {
    return this.#refreshes.run(() => this.#coordinatedRefresh(stale));
  }
  async #coordinatedRefresh(stale) {
    for (let round = 0; round < 3; round++) {
      const adopted = this.#tokenOtherThan(stale);
      if (adopted !== null) return adopted;
      const version = this.#session.version;
      const result = await this.#coordinator.exclusive(
        () => this.#rotate(),
        () => this.#session.version !== version
      );
      if (result.ran) return result.value;
      if (this.#session.state !== "logged-in") throw notLoggedIn();
    }
    return this.#rotate();
  }
  /** A usable token that is not `stale`: someone else already refreshed. */
  #tokenOtherThan(stale) {
    const token = this.#session.token;
    return token !== null && token.value !== stale && this.#isUsable(token) ? token.value : null;
  }
  /** One `/auth/refresh` round trip, applied to the session and told to the other tabs. */
  async #rotate() {
    const version = this.#session.version;
    const startedAt = this.#now();
    const response = await this.#post("/auth/refresh", { headers: { "X-CSRF": "1" } });
    if (response.ok) {
      this.#signedOut.clear();
      const token = await readTokenResponse(response, this.#now);
      if (this.#session.version !== version) return this.#afterConflict();
      this.#session.hold(token);
      this.#channel.post({ kind: "token", token });
      return token.value;
    }
    const error = await errorFromResponse(response);
    if (response.status !== 401) throw error;
    if (this.#session.version === version) {
      this.#end(REVOKING_CODES.has(error.code) ? "revoked" : "logged-out", startedAt);
    }
    throw notLoggedIn(error);
  }
  /** The session changed locally during a refresh round trip: its outcome is stale. */
  #afterConflict() {
    const token = this.#session.token;
    if (token !== null && this.#isUsable(token)) return token.value;
    throw notLoggedIn();
  }
  #end(state, at) {
    this.#signedOut.set();
    this.#session.end(state, at);
    this.#channel.post({ kind: "ended", state, at });
  }
  /** Applies what another tab reports, unless older than what this tab already knows. */
  #receive(message) {
    const session = this.#session;
    if (message.kind === "token") {
      if (message.token.issuedAt >= session.stamp && message.token.value !== session.token?.value) {
        session.hold(message.token);
      }
    } else if (message.kind === "ended") {
      if (message.at >= session.stamp) session.end(message.state, message.at);
    }
  }
  /** POST to a Portcullis endpoint, with the refresh cookie (even across origins). */
  async #post(path, init) {
    try {
      return await this.#fetch(this.#base + path, {
        ...init,
        method: "POST",
        credentials: "include"
      });
    } catch (error) {
      throw networkError(path, error);
    }
  }
};
function defaultLocks() {
  const nav = globalThis.navigator;
  const locks = nav?.locks;
  return locks !== void 0 && typeof locks.request === "function" ? locks : null;
}
function defaultBroadcastChannel() {
  if (typeof BroadcastChannel !== "function") return null;
  return (name) => new BroadcastChannel(name);
}
export {
  PortcullisClient,
  PortcullisError
};
