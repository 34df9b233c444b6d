// errors.ts — owns PortcullisError and the translation of failed HTTP answers and network
// failures into it. Every error body from Portcullis is `{"error": "<code>", "message": "..."}`.

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
export class PortcullisError extends Error {
  readonly status: number;
  readonly code: string;
  readonly retryAfter?: number;

  constructor(status: number, code: string, message: string, options: PortcullisErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = "PortcullisError";
    this.status = status;
    this.code = code;
    if (options.retryAfter !== undefined) this.retryAfter = options.retryAfter;
  }
}

/** The code carried by errors meaning "there is no session": log in (or `restore()`) first. */
export const NOT_LOGGED_IN = "not_logged_in";

/** True when `error` is the client's `not_logged_in` error. */
export function isNotLoggedIn(error: unknown): error is PortcullisError {
  return error instanceof PortcullisError && error.code === NOT_LOGGED_IN;
}

/** The error thrown when an operation needs a session and there is none. */
export function notLoggedIn(cause?: unknown): PortcullisError {
  const detail = cause instanceof PortcullisError ? ` (the server said ${cause.code})` : "";
  return new PortcullisError(
    401,
    NOT_LOGGED_IN,
    `there is no Portcullis session${detail}: log in first`,
    { cause },
  );
}

/** The error thrown when `fetch` itself rejected (offline, DNS, CORS refusal, abort...). */
export function networkError(path: string, cause: unknown): PortcullisError {
  return new PortcullisError(0, "network_error", `could not reach Portcullis (${path})`, {
    cause,
  });
}

/** Builds a PortcullisError from a non-success response, reading its JSON error body. */
export async function errorFromResponse(response: Response): Promise<PortcullisError> {
  let code = `http_${response.status}`;
  let message = response.statusText || `HTTP ${response.status}`;
  try {
    const body: unknown = JSON.parse(await response.text());
    if (isRecord(body)) {
      if (typeof body.error === "string" && body.error !== "") code = body.error;
      if (typeof body.message === "string" && body.message !== "") message = body.message;
    }
  } catch {
    // Not JSON (a proxy's HTML page, an empty body): keep the generic code and message.
  }
  const retryAfter = parseRetryAfter(response.headers.get("Retry-After"));
  return new PortcullisError(
    response.status,
    code,
    message,
    retryAfter === undefined ? {} : { retryAfter },
  );
}

/** `Retry-After` as seconds: either delta-seconds or an HTTP date. */
export function parseRetryAfter(
  value: string | null,
  now: number = Date.now(),
): number | undefined {
  if (value === null) return undefined;
  const trimmed = value.trim();
  if (/^\d+$/.test(trimmed)) return Number(trimmed);
  const date = Date.parse(trimmed);
  if (Number.isNaN(date)) return undefined;
  return Math.max(0, Math.ceil((date - now) / 1000));
}

export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null;
}
