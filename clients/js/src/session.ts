// session.ts — owns this tab's session: the access token (in memory only, in a private field),
// the session state, how many times the token was renewed, the listeners told about changes,
// and the counters that let the client notice that the session changed under an operation in
// flight.

import { type AccessToken, readJwtSessionId } from "./token.js";

/** `revoked`: the server ended the session (revoked, or a reused refresh token was detected). */
export type SessionState = "logged-in" | "logged-out" | "revoked";

export type SessionListener = (state: SessionState) => void;

/**
 * What the client knows about the session, for display: a snapshot, never a live view. Times are
 * epoch milliseconds by this tab's clock.
 */
export interface SessionInfo {
  readonly state: SessionState;
  /**
   * The session's id: the access token's `sid` claim (the refresh-token family it came from).
   * It stays the same across refreshes, while the refresh cookie is replaced at each one. Null
   * when logged out, or when the token carries no `sid`.
   */
  readonly sessionId: string | null;
  /** When the current access token arrived (login, refresh, another tab). Null when logged out. */
  readonly receivedAt: number | null;
  /** When the current access token expires. Null when logged out or when unknown. */
  readonly expiresAt: number | null;
  /**
   * From when the client refreshes before using the token (`refreshMarginSeconds` before
   * expiry). Refreshing is lazy: it happens at the first use after this. Null as `expiresAt`.
   */
  readonly refreshDueAt: number | null;
  /**
   * How many times the access token of this session was renewed since this tab got the session
   * (by `login()`, `restore()` or another tab): each renewal came from a `/auth/refresh`, made
   * here or by another tab, and rotated the refresh cookie. 0 when logged out.
   */
  readonly refreshes: number;
  /** When the latest renewal arrived; null before the first one. */
  readonly lastRefreshAt: number | null;
}

export class Session {
  #token: AccessToken | null = null;
  /** The token value an API answered 401 to: refresh before using it again. */
  #rejected: string | null = null;
  #state: SessionState = "logged-out";
  /** Bumped on every change of token or state; only compared within this tab. */
  #version = 0;
  /**
   * Epoch ms of the newest event applied (a token's `issuedAt`, or when the session ended). Tabs
   * share one clock, so messages from other tabs older than this are stale and are ignored.
   */
  #stamp = 0;
  /** The `sid` claim of `#token`, read once when it arrives. */
  #sessionId: string | null = null;
  /** Renewals of the current session's token in this tab, and when the latest arrived. */
  #refreshes = 0;
  #lastRefreshAt: number | null = null;
  #listeners = new Set<SessionListener>();
  #updateListeners = new Set<() => void>();
  #watchers = new Set<() => void>();

  get state(): SessionState {
    return this.#state;
  }

  get token(): AccessToken | null {
    return this.#token;
  }

  get version(): number {
    return this.#version;
  }

  get stamp(): number {
    return this.#stamp;
  }

  get sessionId(): string | null {
    return this.#sessionId;
  }

  get refreshes(): number {
    return this.#refreshes;
  }

  get lastRefreshAt(): number | null {
    return this.#lastRefreshAt;
  }

  isRejected(value: string): boolean {
    return this.#rejected === value;
  }

  /** Keeps `token` as the current access token; the state becomes `logged-in`. */
  hold(token: AccessToken): void {
    const sessionId = readJwtSessionId(token.value);
    // A renewal replaces the token of the session already held; a token of another session (a
    // new login, here or in another tab) starts the count again. Tokens without `sid` cannot
    // tell, and count as renewals while logged in.
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
  end(state: Exclude<SessionState, "logged-in">, at: number): void {
    this.#token = null;
    this.#sessionId = null;
    this.#refreshes = 0;
    this.#lastRefreshAt = null;
    this.#rejected = null;
    this.#stamp = at;
    this.#changed(state);
  }

  /** Records that an API refused `value`, so the next use refreshes first. */
  reject(value: string): void {
    if (this.#token?.value === value) this.#rejected = value;
  }

  /** Public subscription: called only when the state actually changes. */
  onChange(listener: SessionListener): () => void {
    this.#listeners.add(listener);
    return () => {
      this.#listeners.delete(listener);
    };
  }

  /**
   * Public subscription: called after every change of token or state (each refresh included),
   * after the state listeners.
   */
  onUpdate(listener: () => void): () => void {
    this.#updateListeners.add(listener);
    return () => {
      this.#updateListeners.delete(listener);
    };
  }

  /** Internal subscription: called on every change of token or state. */
  watch(watcher: () => void): () => void {
    this.#watchers.add(watcher);
    return () => {
      this.#watchers.delete(watcher);
    };
  }

  #changed(next: SessionState): void {
    this.#version += 1;
    const previous = this.#state;
    this.#state = next;
    for (const watcher of [...this.#watchers]) watcher();
    if (previous !== next) {
      for (const listener of [...this.#listeners]) isolated(() => listener(next));
    }
    for (const listener of [...this.#updateListeners]) isolated(listener);
  }
}

/** Runs an application's listener; a faulty one must not break the session logic. */
function isolated(listener: () => void): void {
  try {
    listener();
  } catch (error) {
    // Reported like an event handler's exception, after the session logic has run.
    queueMicrotask(() => {
      throw error;
    });
  }
}
