import { type AccessToken } from "./token.js";
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
export declare class Session {
    #private;
    get state(): SessionState;
    get token(): AccessToken | null;
    get version(): number;
    get stamp(): number;
    get sessionId(): string | null;
    get refreshes(): number;
    get lastRefreshAt(): number | null;
    isRejected(value: string): boolean;
    /** Keeps `token` as the current access token; the state becomes `logged-in`. */
    hold(token: AccessToken): void;
    /** Forgets the token; the state becomes `state`. `at` is when the evidence for it began. */
    end(state: Exclude<SessionState, "logged-in">, at: number): void;
    /** Records that an API refused `value`, so the next use refreshes first. */
    reject(value: string): void;
    /** Public subscription: called only when the state actually changes. */
    onChange(listener: SessionListener): () => void;
    /**
     * Public subscription: called after every change of token or state (each refresh included),
     * after the state listeners.
     */
    onUpdate(listener: () => void): () => void;
    /** Internal subscription: called on every change of token or state. */
    watch(watcher: () => void): () => void;
}
