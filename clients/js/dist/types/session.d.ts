import type { AccessToken } from "./token.js";
/** `revoked`: the server ended the session (revoked, or a reused refresh token was detected). */
export type SessionState = "logged-in" | "logged-out" | "revoked";
export type SessionListener = (state: SessionState) => void;
export declare class Session {
    #private;
    get state(): SessionState;
    get token(): AccessToken | null;
    get version(): number;
    get stamp(): number;
    isRejected(value: string): boolean;
    /** Keeps `token` as the current access token; the state becomes `logged-in`. */
    hold(token: AccessToken): void;
    /** Forgets the token; the state becomes `state`. `at` is when the evidence for it began. */
    end(state: Exclude<SessionState, "logged-in">, at: number): void;
    /** Records that an API refused `value`, so the next use refreshes first. */
    reject(value: string): void;
    /** Public subscription: called only when the state actually changes. */
    onChange(listener: SessionListener): () => void;
    /** Internal subscription: called on every change of token or state. */
    watch(watcher: () => void): () => void;
}
