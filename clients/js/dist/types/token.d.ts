/** An access token as the client keeps it (in memory only). Times are epoch milliseconds. */
export interface AccessToken {
    /** The bearer token itself. */
    readonly value: string;
    /** When this tab (or the tab that shared it) received the token. */
    readonly issuedAt: number;
    /** When it stops working; `Infinity` when unknown (then only a 401 triggers a refresh). */
    readonly expiresAt: number;
}
/**
 * Reads the `{access_token, token_type, expires_in}` body of a successful login or refresh.
 *
 * The expiry comes from `expires_in` (relative, so immune to a wrong client clock); when that is
 * missing, from the JWT's `exp` claim; when neither is usable, it is unknown.
 */
export declare function readTokenResponse(response: Response, now: () => number): Promise<AccessToken>;
/** See {@link readTokenResponse}; split out so it can be tested without a Response. */
export declare function tokenFromBody(body: unknown, receivedAt: number, status?: number): AccessToken;
/** The `exp` claim of a JWT in epoch milliseconds, or null when it cannot be read. */
export declare function readJwtExpiry(jwt: string): number | null;
/**
 * The `sid` claim of a Portcullis access token: the session (refresh-token family) it was issued
 * from, the same for every token of one session. Null when it cannot be read.
 */
export declare function readJwtSessionId(jwt: string): string | null;
/**
 * When the token should be refreshed: `marginMs` before it expires, but never more than half its
 * lifetime early, so a short-lived token is not refreshed on every call.
 */
export declare function refreshDueAt(token: AccessToken, marginMs: number): number;
/** True while the token can be used without refreshing first. */
export declare function isFresh(token: AccessToken, now: number, marginMs: number): boolean;
/** Structural check for tokens arriving from other tabs. */
export declare function isAccessToken(value: unknown): value is AccessToken;
