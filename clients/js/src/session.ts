// session.ts — owns this tab's session: the access token (in memory only, in a private field),
// the session state, the listeners told about state changes, and the counters that let the
// client notice that the session changed under an operation in flight.

import type { AccessToken } from "./token.js";

/** `revoked`: the server ended the session (revoked, or a reused refresh token was detected). */
export type SessionState = "logged-in" | "logged-out" | "revoked";

export type SessionListener = (state: SessionState) => void;

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
  #listeners = new Set<SessionListener>();
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

  isRejected(value: string): boolean {
    return this.#rejected === value;
  }

  /** Keeps `token` as the current access token; the state becomes `logged-in`. */
  hold(token: AccessToken): void {
    this.#token = token;
    this.#rejected = null;
    this.#stamp = token.issuedAt;
    this.#changed("logged-in");
  }

  /** Forgets the token; the state becomes `state`. `at` is when the evidence for it began. */
  end(state: Exclude<SessionState, "logged-in">, at: number): void {
    this.#token = null;
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
    if (previous === next) return;
    for (const listener of [...this.#listeners]) {
      try {
        listener(next);
      } catch (error) {
        // A faulty listener must not break the session logic; report it like an event handler.
        queueMicrotask(() => {
          throw error;
        });
      }
    }
  }
}
