/** Options accepted by {@link PortcullisError}'s constructor. */
export interface PortcullisErrorOptions {
    /** The underlying error (a network failure, or the server error behind `not_logged_in`). */
    cause?: unknown;
    /** Seconds to wait before retrying, from a `Retry-After` header (e.g. on 429 `rate_limited`). */
    retryAfter?: number;
}
/**
 * An error reported by Portcullis or by this client.
 *
 * - `status` is the HTTP status, or `0` when no HTTP answer was received (`network_error`).
 * - `code` is the server's machine-readable code (`invalid_credentials`, `rate_limited`,
 *   `unavailable`, ...) or one of the client's own: `not_logged_in` (there is no session to act
 *   for), `network_error`, `invalid_response`.
 */
export declare class PortcullisError extends Error {
    readonly status: number;
    readonly code: string;
    readonly retryAfter?: number;
    constructor(status: number, code: string, message: string, options?: PortcullisErrorOptions);
}
/** The code carried by errors meaning "there is no session": log in (or `restore()`) first. */
export declare const NOT_LOGGED_IN = "not_logged_in";
/** True when `error` is the client's `not_logged_in` error. */
export declare function isNotLoggedIn(error: unknown): error is PortcullisError;
/** The error thrown when an operation needs a session and there is none. */
export declare function notLoggedIn(cause?: unknown): PortcullisError;
/** The error thrown when `fetch` itself rejected (offline, DNS, CORS refusal, abort...). */
export declare function networkError(path: string, cause: unknown): PortcullisError;
/** Builds a PortcullisError from a non-success response, reading its JSON error body. */
export declare function errorFromResponse(response: Response): Promise<PortcullisError>;
/** `Retry-After` as seconds: either delta-seconds or an HTTP date. */
export declare function parseRetryAfter(value: string | null, now?: number): number | undefined;
export declare function isRecord(value: unknown): value is Record<string, unknown>;
