import { type BroadcastChannelFactory } from "./channel.js";
import { type CoordinationMode, type LockManagerLike } from "./crossTab.js";
import { type SessionInfo, type SessionState } from "./session.js";
import { type StorageLike } from "./signedOut.js";
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
/**
 * A browser client for Portcullis. The access token lives only in this object's memory; the
 * refresh token is the server's HttpOnly cookie, which script never sees.
 */
export declare class PortcullisClient {
    #private;
    constructor(options?: PortcullisOptions);
    /** The session state of this tab. Starts `logged-out` until `login()` or `restore()`. */
    get state(): SessionState;
    /**
     * What the client knows about the session, for display: its id, the access token's expiry,
     * how many times it was refreshed and when. A snapshot; `onSessionInfo` tells when it changes.
     */
    get sessionInfo(): SessionInfo;
    /** How refreshes are coordinated across tabs in this environment. */
    get coordination(): CoordinationMode;
    /**
     * Logs in with email and password. On success the state is `logged-in` and other tabs adopt
     * the token. Throws PortcullisError (`invalid_credentials`, `account_locked`, `rate_limited`
     * with `retryAfter`, ...) and leaves the state unchanged on failure.
     */
    login(email: string, password: string): Promise<void>;
    /**
     * Logs out this browser's session: the server revokes it and clears the cookie; the token is
     * forgotten and every tab goes `logged-out`. The local logout happens even when the server
     * cannot be reached; the error is then rethrown, since the cookie may still be there.
     */
    logout(): Promise<void>;
    /**
     * Revokes every session of the user (all browsers and devices), then goes `logged-out` here
     * and in the other tabs. Throws `not_logged_in` without a session.
     */
    logoutAll(): Promise<void>;
    /**
     * For page load: asks the server for a token with the refresh cookie (one coordinated
     * `/auth/refresh`). Resolves true when logged in, false when there is no session (the state is
     * then `logged-out` or `revoked`). Rejects with PortcullisError on 503 / network failure,
     * leaving the state as it was.
     *
     * Makes no request, and resolves false, when the session in this browser ended here and no
     * session began since (the signed-out marker).
     */
    restore(): Promise<boolean>;
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
    authFetch(input: RequestInfo | URL, init?: RequestInit): Promise<Response>;
    /**
     * A usable access token, refreshing first when it is due; null without a session. Rejects on
     * 503 / network failure of the refresh.
     */
    accessToken(): Promise<string | null>;
    /** Calls `listener` on every change of `state` (including ones caused by other tabs). */
    onSessionChange(listener: (state: SessionState) => void): () => void;
    /**
     * Calls `listener` with the new `sessionInfo` after every change of token or state: login,
     * each refresh (here or adopted from another tab), the end of the session.
     */
    onSessionInfo(listener: (info: SessionInfo) => void): () => void;
    /** Stops listening to other tabs (e.g. when a single-page app tears the client down). */
    close(): void;
}
