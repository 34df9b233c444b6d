// signedOut.ts — owns the one thing the library keeps in web storage: a marker saying "the
// session in this browser ended here" (a sign-out, or the gateway refusing the refresh cookie),
// so that restore() on the next page load can answer "no session" without a request that would
// only be refused. It holds no secret: its value is "1", and it is never a token. It must never
// be read as "a session exists": its absence means "unknown, ask the gateway".

/** The part of `Storage` the marker uses. */
export interface StorageLike {
  getItem(key: string): string | null;
  setItem(key: string, value: string): void;
  removeItem(key: string): void;
}

export class SignedOutMarker {
  readonly #storage: StorageLike | null;
  readonly #key: string;

  constructor(storage: StorageLike | null, key: string) {
    this.#storage = storage;
    this.#key = key;
  }

  /** True only when this browser recorded the end of its session and nothing since. */
  get isSet(): boolean {
    if (this.#storage === null) return false;
    try {
      return this.#storage.getItem(this.#key) === "1";
    } catch {
      return false; // Storage refused (blocked, sandboxed): ask the gateway, as without it.
    }
  }

  /** The session ended here: the refresh cookie is gone, or was given up. */
  set(): void {
    this.#try((storage) => storage.setItem(this.#key, "1"));
  }

  /** The gateway just issued a refresh cookie: a session exists. */
  clear(): void {
    this.#try((storage) => storage.removeItem(this.#key));
  }

  #try(write: (storage: StorageLike) => void): void {
    if (this.#storage === null) return;
    try {
      write(this.#storage);
    } catch {
      // Full or blocked storage: the marker is an optimisation, never needed for correctness.
    }
  }
}

/**
 * The page's `localStorage`, when the gateway is on the page's own origin; otherwise null.
 *
 * With another origin, sessions can begin in pages this storage never sees (another app of the
 * same gateway), so a stale marker would hide a live session; apps that know better pass their
 * storage explicitly. `localStorage` is shared by the origin's tabs and outlives the tab, as the
 * cookie does. Reading it can throw (storage disabled), which means: no marker.
 */
export function defaultMarkerStorage(baseUrl: string): StorageLike | null {
  try {
    const page = (globalThis as { location?: { href: string; origin: string } }).location;
    const sameOrigin =
      baseUrl === "" || (page !== undefined && new URL(baseUrl, page.href).origin === page.origin);
    if (!sameOrigin) return null;
    const storage = (globalThis as { localStorage?: StorageLike }).localStorage;
    return storage !== undefined && typeof storage.getItem === "function" ? storage : null;
  } catch {
    return null;
  }
}
