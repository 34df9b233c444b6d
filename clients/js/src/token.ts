// token.ts — owns the in-memory representation of an access token: parsing the login/refresh
// answer, reading a JWT's `exp` and `sid` without verifying them (the server verifies), and
// deciding when a token is due for a proactive refresh.

import { PortcullisError, isRecord } from "./errors.js";

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
export async function readTokenResponse(
  response: Response,
  now: () => number,
): Promise<AccessToken> {
  const receivedAt = now();
  let body: unknown;
  try {
    body = JSON.parse(await response.text());
  } catch (cause) {
    throw invalidResponse(response.status, "the token response is not JSON", cause);
  }
  return tokenFromBody(body, receivedAt, response.status);
}

/** See {@link readTokenResponse}; split out so it can be tested without a Response. */
export function tokenFromBody(body: unknown, receivedAt: number, status = 200): AccessToken {
  if (!isRecord(body) || typeof body.access_token !== "string" || body.access_token === "") {
    throw invalidResponse(status, "the token response has no access_token");
  }
  const type = body.token_type;
  if (type !== undefined && (typeof type !== "string" || type.toLowerCase() !== "bearer")) {
    throw invalidResponse(status, `unsupported token_type ${String(type)}`);
  }
  const value = body.access_token;
  let expiresAt = Infinity;
  const expiresIn = body.expires_in;
  if (typeof expiresIn === "number" && Number.isFinite(expiresIn) && expiresIn > 0) {
    expiresAt = receivedAt + expiresIn * 1000;
  } else {
    const exp = readJwtExpiry(value);
    // An `exp` already in the past by this clock means the clock is wrong, not the token.
    if (exp !== null && exp > receivedAt) expiresAt = exp;
  }
  return { value, issuedAt: receivedAt, expiresAt };
}

/** The `exp` claim of a JWT in epoch milliseconds, or null when it cannot be read. */
export function readJwtExpiry(jwt: string): number | null {
  const exp = readJwtClaims(jwt)?.exp;
  return typeof exp === "number" && Number.isFinite(exp) ? exp * 1000 : null;
}

/**
 * The `sid` claim of a Portcullis access token: the session (refresh-token family) it was issued
 * from, the same for every token of one session. Null when it cannot be read.
 */
export function readJwtSessionId(jwt: string): string | null {
  const sid = readJwtClaims(jwt)?.sid;
  return typeof sid === "string" && sid !== "" ? sid : null;
}

/** A JWT's claims, decoded but not verified (the server verifies); null when unreadable. */
function readJwtClaims(jwt: string): Record<string, unknown> | null {
  const parts = jwt.split(".");
  if (parts.length !== 3 || parts[1] === undefined) return null;
  try {
    const payload: unknown = JSON.parse(base64UrlDecode(parts[1]));
    return isRecord(payload) ? payload : null;
  } catch {
    return null;
  }
}

function base64UrlDecode(segment: string): string {
  const base64 = segment.replace(/-/g, "+").replace(/_/g, "/");
  const padded = base64 + "=".repeat((4 - (base64.length % 4)) % 4);
  const binary = atob(padded);
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  return new TextDecoder().decode(bytes);
}

/**
 * When the token should be refreshed: `marginMs` before it expires, but never more than half its
 * lifetime early, so a short-lived token is not refreshed on every call.
 */
export function refreshDueAt(token: AccessToken, marginMs: number): number {
  const lifetime = token.expiresAt - token.issuedAt;
  const margin = Math.min(marginMs, Math.max(0, lifetime / 2));
  return token.expiresAt - margin;
}

/** True while the token can be used without refreshing first. */
export function isFresh(token: AccessToken, now: number, marginMs: number): boolean {
  return now < refreshDueAt(token, marginMs);
}

/** Structural check for tokens arriving from other tabs. */
export function isAccessToken(value: unknown): value is AccessToken {
  return (
    isRecord(value) &&
    typeof value.value === "string" &&
    value.value !== "" &&
    typeof value.issuedAt === "number" &&
    typeof value.expiresAt === "number" &&
    !Number.isNaN(value.issuedAt) &&
    !Number.isNaN(value.expiresAt)
  );
}

function invalidResponse(status: number, message: string, cause?: unknown): PortcullisError {
  return new PortcullisError(status, "invalid_response", message, { cause });
}
