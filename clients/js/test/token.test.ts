import { describe, expect, it } from "vitest";
import { PortcullisError, errorFromResponse, parseRetryAfter } from "../src/errors.js";
import {
  isFresh,
  readJwtExpiry,
  readJwtSessionId,
  refreshDueAt,
  tokenFromBody,
} from "../src/token.js";
import { makeJwt } from "./fakes.js";

describe("token", () => {
  it("reads the exp claim of a JWT without verifying it", () => {
    expect(readJwtExpiry(makeJwt({ exp: 1_800_000_000, email: "zoë@example.com" }))).toBe(
      1_800_000_000_000,
    );
  });

  it("returns null for tokens it cannot read", () => {
    expect(readJwtExpiry("opaque")).toBeNull();
    expect(readJwtExpiry("a.b.c")).toBeNull();
    expect(readJwtExpiry(makeJwt({ sub: "no exp" }))).toBeNull();
    expect(readJwtExpiry(makeJwt({ exp: "soon" }))).toBeNull();
  });

  it("reads the sid claim (the session id) without verifying it, or null", () => {
    const sid = "0190a5c2-7b1e-7000-8000-000000000001";
    expect(readJwtSessionId(makeJwt({ sid, exp: 1 }))).toBe(sid);
    expect(readJwtSessionId(makeJwt({ sub: "no sid" }))).toBeNull();
    expect(readJwtSessionId(makeJwt({ sid: 42 }))).toBeNull();
    expect(readJwtSessionId(makeJwt({ sid: "" }))).toBeNull();
    expect(readJwtSessionId("opaque")).toBeNull();
  });

  it("prefers expires_in (immune to a wrong client clock) over the JWT exp", () => {
    const jwt = makeJwt({ exp: 10 }); // absurd exp: the clock would disagree
    const token = tokenFromBody(
      { access_token: jwt, token_type: "Bearer", expires_in: 900 },
      5_000,
    );
    expect(token).toEqual({ value: jwt, issuedAt: 5_000, expiresAt: 905_000 });
  });

  it("falls back to exp, then to an unknown expiry", () => {
    const jwt = makeJwt({ exp: 2_000 });
    expect(tokenFromBody({ access_token: jwt }, 1_000_000).expiresAt).toBe(2_000_000);
    expect(tokenFromBody({ access_token: "opaque" }, 1_000).expiresAt).toBe(Infinity);
    // An exp already past by this clock says the clock is wrong: treat the expiry as unknown.
    expect(tokenFromBody({ access_token: jwt }, 3_000_000).expiresAt).toBe(Infinity);
  });

  it("rejects malformed token answers", () => {
    expect(() => tokenFromBody({}, 0)).toThrow(PortcullisError);
    expect(() => tokenFromBody({ access_token: "x", token_type: "MAC" }, 0)).toThrow(/token_type/);
    try {
      tokenFromBody(null, 0);
    } catch (error) {
      expect((error as PortcullisError).code).toBe("invalid_response");
    }
  });

  it("refreshes refreshMargin early, but at most half the lifetime early", () => {
    const long = { value: "t", issuedAt: 0, expiresAt: 900_000 };
    expect(refreshDueAt(long, 30_000)).toBe(870_000);
    expect(isFresh(long, 869_999, 30_000)).toBe(true);
    expect(isFresh(long, 870_000, 30_000)).toBe(false);
    const short = { value: "t", issuedAt: 0, expiresAt: 20_000 };
    expect(refreshDueAt(short, 30_000)).toBe(10_000);
    const unknown = { value: "t", issuedAt: 0, expiresAt: Infinity };
    expect(isFresh(unknown, Number.MAX_SAFE_INTEGER, 30_000)).toBe(true);
  });
});

describe("errors", () => {
  it("reads the JSON error body and Retry-After", async () => {
    const error = await errorFromResponse(
      new Response(JSON.stringify({ error: "rate_limited", message: "slow down" }), {
        status: 429,
        headers: { "Retry-After": "12" },
      }),
    );
    expect(error).toBeInstanceOf(PortcullisError);
    expect(error).toBeInstanceOf(Error);
    expect([error.status, error.code, error.message, error.retryAfter]).toEqual([
      429,
      "rate_limited",
      "slow down",
      12,
    ]);
    expect(error.name).toBe("PortcullisError");
  });

  it("copes with bodies that are not Portcullis JSON", async () => {
    const error = await errorFromResponse(
      new Response("<html>bad gateway</html>", { status: 502, statusText: "Bad Gateway" }),
    );
    expect([error.status, error.code, error.message]).toEqual([502, "http_502", "Bad Gateway"]);
    expect(error.retryAfter).toBeUndefined();
  });

  it("parses Retry-After as seconds or an HTTP date", () => {
    expect(parseRetryAfter(null)).toBeUndefined();
    expect(parseRetryAfter(" 7 ")).toBe(7);
    expect(parseRetryAfter(new Date(61_000).toUTCString(), 0)).toBe(61);
    expect(parseRetryAfter("soon")).toBeUndefined();
  });
});
