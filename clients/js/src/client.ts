// client.ts — owns PortcullisClient, the public face of the library: login, logout, restore,
// authFetch and the policy tying the other modules together (when to refresh, how a refresh's
// outcome changes the session, what other tabs are told).

import { type BroadcastChannelFactory, TabChannel, type TabMessage } from "./channel.js";
import {
  type CoordinationMode,
  type Coordinator,
  type LockManagerLike,
  createCoordinator,
} from "./crossTab.js";
import {
  PortcullisError,
  errorFromResponse,
  isNotLoggedIn,
  networkError,
  notLoggedIn,
} from "./errors.js";
import { discard, isReplayable, withBearer } from "./request.js";
import { Session, type SessionInfo, type SessionState } from "./session.js";
import { SignedOutMarker, type StorageLike, defaultMarkerStorage } from "./signedOut.js";
import { SingleFlight } from "./singleFlight.js";
import { type AccessToken, isFresh, readTokenResponse, refreshDueAt } from "./token.js";

export interface PortcullisOptions {
  /** Where Portcullis answers, e.g. `"https://auth.example.com"`. Default `""`: same origin. */
  baseUrl?: string;
  /** Refresh this many seconds before the access token expires. Default 30. */
  refreshMarginSeconds?: number;
  /** The `fetch` used for every request. Default: the global `fetch`. */
  fetch?: typeof fetch;
  /**
   * Name of the Web Lock serialising refreshes across tabs; the BroadcastChannel is named after
   * it. Default `"portcullis:<baseUrl>"` (`"portcullis:same-origin"` without a baseUrl).
   */
  lockName?: string;
  /** Overrides of what the client takes from its environment (for tests and unusual hosts). */
  environment?: PortcullisEnvironment;
}

/** Environment hooks; every field defaults to what the browser provides. */
export interface PortcullisEnvironment {
  /** Web Locks manager. Default `navigator.locks` when present; `null` disables it. */
  locks?: LockManagerLike | null;
  /** Creates the BroadcastChannel. Default `new BroadcastChannel(name)`; `null` disables it. */
  broadcastChannel?: BroadcastChannelFactory | null;
  /** The clock, in epoch milliseconds. Default `Date.now`. */
  now?: () => number;
  /** Longest wait for another tab (lock or claimed refresh) before acting alone. Default 10000. */
  crossTabTimeoutMs?: number;
  /** Without Web Locks: how long to listen for rival claims before refreshing. Default 100. */
  claimSettleMs?: number;
  /** With Web Locks: how long the lock is kept after broadcasting a new token. Default 50. */
  handoffMs?: number;
  /**
   * Where the signed-out marker is kept (see `restore()`); `null` keeps none. Default
   * `localStorage` when the gateway is on the page's origin, else `null`.
   */
  storage?: StorageLike | null;
}

const DEFAULT_MARGIN_SECONDS = 30;
/** 401 codes of /auth/refresh meaning the server ended the session, rather than it being absent. */
const REVOKING_CODES: ReadonlySet<string> = new Set(["session_revoked", "refresh_token_reused"]);

/**
 * A browser client for Portcullis. The access token lives only in this object's memory; the
 * refresh token is the server's HttpOnly cookie, which script never sees.
 */
export class PortcullisClient {
  readonly #base: string;
  readonly #marginMs: number;
  readonly #fetch: (input: RequestInfo | URL, init?: RequestInit) => Promise<Response>;
  readonly #now: () => number;
  readonly #session = new Session();
  readonly #refreshes = new SingleFlight<string>();
  readonly #channel: TabChannel;
  readonly #coordinator: Coordinator;
  readonly #stopListening: () => void;
  readonly #signedOut: SignedOutMarker;

  constructor(options: PortcullisOptions = {}) {
    this.#base = (options.baseUrl ?? "").replace(/\/+$/, "");
    const margin = options.refreshMarginSeconds ?? DEFAULT_MARGIN_SECONDS;
    this.#marginMs =
      Number.isFinite(margin) && margin >= 0 ? margin * 1000 : DEFAULT_MARGIN_SECONDS * 1000;
    const fetchImpl = options.fetch;
    // Called as a plain function: a browser's fetch throws "Illegal invocation" when called as a
    // method of another object.
    this.#fetch =
      fetchImpl === undefined
        ? (input, init) => globalThis.fetch(input, init)
        : (input, init) => fetchImpl(input, init);
    const env = options.environment ?? {};
    this.#now = env.now ?? Date.now;
    this.#signedOut = new SignedOutMarker(
      env.storage === undefined ? defaultMarkerStorage(this.#base) : env.storage,
      `portcullis:${this.#base || "same-origin"}:signed-out`,
    );
    const lockName = options.lockName ?? `portcullis:${this.#base || "same-origin"}`;
    this.#channel = new TabChannel(
      env.broadcastChannel === undefined ? defaultBroadcastChannel() : env.broadcastChannel,
      `${lockName}:tabs`,
    );
    this.#stopListening = this.#channel.subscribe((message) => this.#receive(message));
    this.#coordinator = createCoordinator({
      lockName,
      locks: env.locks === undefined ? defaultLocks() : env.locks,
      channel: this.#channel,
      watch: (watcher) => this.#session.watch(watcher),
      now: this.#now,
      timeoutMs: env.crossTabTimeoutMs ?? 10_000,
      claimSettleMs: env.claimSettleMs ?? 100,
      handoffMs: env.handoffMs ?? 50,
    });
  }

  /** The session state of this tab. Starts `logged-out` until `login()` or `restore()`. */
  get state(): SessionState {
    return this.#session.state;
  }

  /**
   * What the client knows about the session, for display: its id, the access token's expiry,
   * how many times it was refreshed and when. A snapshot; `onSessionInfo` tells when it changes.
   */
  get sessionInfo(): SessionInfo {
    const session = this.#session;
    const token = session.token;
    const expiresAt = token !== null && Number.isFinite(token.expiresAt) ? token.expiresAt : null;
    return {
      state: session.state,
      sessionId: session.sessionId,
      receivedAt: token?.issuedAt ?? null,
      expiresAt,
      refreshDueAt:
        token !== null && expiresAt !== null ? refreshDueAt(token, this.#marginMs) : null,
      refreshes: session.refreshes,
      lastRefreshAt: session.lastRefreshAt,
    };
  }

  /** How refreshes are coordinated across tabs in this environment. */
  get coordination(): CoordinationMode {
    return this.#coordinator.mode;
  }

  /**
   * Logs in with email and password. On success the state is `logged-in` and other tabs adopt
   * the token. Throws PortcullisError (`invalid_credentials`, `account_locked`, `rate_limited`
   * with `retryAfter`, ...) and leaves the state unchanged on failure.
   */
  login(email: string, password: string): Promise<void> {
    return this.#coordinator.serialize(async () => {
      const response = await this.#post("/auth/login", {
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify({ email, password }),
      });
      if (!response.ok) throw await errorFromResponse(response);
      this.#signedOut.clear(); // the answer set a refresh cookie
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
  logout(): Promise<void> {
    return this.#coordinator.serialize(async () => {
      const token = this.#session.token?.value;
      const headers: Record<string, string> = { "X-CSRF": "1" };
      if (token !== undefined) headers.Authorization = `Bearer ${token}`;
      let failure: PortcullisError | null = null;
      try {
        const response = await this.#post("/auth/logout", { headers });
        // 401: nothing left to log out of; logout is idempotent.
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
  async logoutAll(): Promise<void> {
    const first = await this.#usableOrRefreshed();
    await this.#coordinator.serialize(async () => {
      // Another tab may have rotated the token while this one waited for its turn.
      let token = this.#session.token?.value ?? first;
      let response = await this.#post("/auth/logout-all", {
        headers: { Authorization: `Bearer ${token}` },
      });
      if (response.status === 401) {
        // Already inside the cross-tab critical section: refresh directly, then try once more.
        discard(response);
        token = await this.#rotate();
        response = await this.#post("/auth/logout-all", {
          headers: { Authorization: `Bearer ${token}` },
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
  async restore(): Promise<boolean> {
    const token = this.#session.token;
    if (token !== null && this.#isUsable(token)) return true;
    // Whether a session exists is known only to the HttpOnly refresh cookie, which script cannot
    // read, so in general only asking tells. What this browser can know is that its session
    // ended here (a sign-out, or the gateway refusing and deleting the cookie) and that no login
    // or refresh has set a cookie since: then asking could only be refused with a 401. Without
    // the marker it still asks, once: "never signed in" looks the same as "signed in before the
    // marker existed" or "storage cleared, cookies kept", and guessing "no session" there would
    // hide a live one. The marker itself is wrong only if a session began where this storage
    // cannot see it, which is why it is off by default for a gateway on another origin.
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
  async authFetch(input: RequestInfo | URL, init?: RequestInit): Promise<Response> {
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
  async accessToken(): Promise<string | null> {
    try {
      return await this.#usableOrRefreshed();
    } catch (error) {
      if (isNotLoggedIn(error)) return null;
      throw error;
    }
  }

  /** Calls `listener` on every change of `state` (including ones caused by other tabs). */
  onSessionChange(listener: (state: SessionState) => void): () => void {
    return this.#session.onChange(listener);
  }

  /**
   * Calls `listener` with the new `sessionInfo` after every change of token or state: login,
   * each refresh (here or adopted from another tab), the end of the session.
   */
  onSessionInfo(listener: (info: SessionInfo) => void): () => void {
    return this.#session.onUpdate(() => listener(this.sessionInfo));
  }

  /** Stops listening to other tabs (e.g. when a single-page app tears the client down). */
  close(): void {
    this.#stopListening();
    this.#coordinator.close();
    this.#channel.close();
  }

  // --- internals -------------------------------------------------------------------------------

  #isUsable(token: AccessToken): boolean {
    return !this.#session.isRejected(token.value) && isFresh(token, this.#now(), this.#marginMs);
  }

  /** The current token if usable, else a refreshed one; `not_logged_in` without a session. */
  async #usableOrRefreshed(): Promise<string> {
    const token = this.#session.token;
    if (token === null) {
      // A restore() in flight may be about to produce a session: wait for it.
      const inFlight = this.#refreshes.current;
      if (inFlight !== null) return inFlight;
      throw notLoggedIn();
    }
    if (this.#isUsable(token)) return token.value;
    return this.#refresh(token.value);
  }

  /** One refresh per tab at a time; `stale` is the token the caller found wanting (or null). */
  #refresh(stale: string | null): Promise<string> {
    return this.#refreshes.run(() => this.#coordinatedRefresh(stale));
  }

  async #coordinatedRefresh(stale: string | null): Promise<string> {
    for (let round = 0; round < 3; round++) {
      const adopted = this.#tokenOtherThan(stale);
      if (adopted !== null) return adopted;
      const version = this.#session.version;
      const result = await this.#coordinator.exclusive(
        () => this.#rotate(),
        () => this.#session.version !== version,
      );
      if (result.ran) return result.value;
      // The session changed while waiting: another tab's token or logout, or a local login.
      if (this.#session.state !== "logged-in") throw notLoggedIn();
    }
    // The session keeps changing without yielding a usable token: refresh without waiting.
    return this.#rotate();
  }

  /** A usable token that is not `stale`: someone else already refreshed. */
  #tokenOtherThan(stale: string | null): string | null {
    const token = this.#session.token;
    return token !== null && token.value !== stale && this.#isUsable(token) ? token.value : null;
  }

  /** One `/auth/refresh` round trip, applied to the session and told to the other tabs. */
  async #rotate(): Promise<string> {
    const version = this.#session.version;
    const startedAt = this.#now();
    const response = await this.#post("/auth/refresh", { headers: { "X-CSRF": "1" } });
    if (response.ok) {
      this.#signedOut.clear(); // the answer set a new refresh cookie
      const token = await readTokenResponse(response, this.#now);
      if (this.#session.version !== version) return this.#afterConflict();
      this.#session.hold(token);
      this.#channel.post({ kind: "token", token });
      return token.value;
    }
    const error = await errorFromResponse(response);
    if (response.status !== 401) throw error; // 403 csrf/origin, 503, ...: the session stands
    // Every 401 from /auth/refresh clears the cookie: the session is over for all tabs.
    if (this.#session.version === version) {
      this.#end(REVOKING_CODES.has(error.code) ? "revoked" : "logged-out", startedAt);
    }
    throw notLoggedIn(error);
  }

  /** The session changed locally during a refresh round trip: its outcome is stale. */
  #afterConflict(): string {
    const token = this.#session.token;
    if (token !== null && this.#isUsable(token)) return token.value;
    throw notLoggedIn();
  }

  #end(state: Exclude<SessionState, "logged-in">, at: number): void {
    this.#signedOut.set();
    this.#session.end(state, at);
    this.#channel.post({ kind: "ended", state, at });
  }

  /** Applies what another tab reports, unless older than what this tab already knows. */
  #receive(message: TabMessage): void {
    const session = this.#session;
    if (message.kind === "token") {
      // Equal stamps are possible (one clock tick): a different token from then is as good.
      if (message.token.issuedAt >= session.stamp && message.token.value !== session.token?.value) {
        session.hold(message.token);
      }
    } else if (message.kind === "ended") {
      if (message.at >= session.stamp) session.end(message.state, message.at);
    }
  }

  /** POST to a Portcullis endpoint, with the refresh cookie (even across origins). */
  async #post(path: string, init: RequestInit): Promise<Response> {
    try {
      return await this.#fetch(this.#base + path, {
        ...init,
        method: "POST",
        credentials: "include",
      });
    } catch (error) {
      throw networkError(path, error);
    }
  }
}

function defaultLocks(): LockManagerLike | null {
  const nav = (globalThis as { navigator?: { locks?: LockManagerLike } }).navigator;
  const locks = nav?.locks;
  return locks !== undefined && typeof locks.request === "function" ? locks : null;
}

function defaultBroadcastChannel(): BroadcastChannelFactory | null {
  if (typeof BroadcastChannel !== "function") return null;
  return (name) => new BroadcastChannel(name);
}
