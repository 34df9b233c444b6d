import { afterEach, describe, expect, it, vi } from "vitest";
import { PortcullisClient, PortcullisError, type SessionState } from "../src/index.js";
import { ALICE, BASE, Browser, bearerOf } from "./fakes.js";

let browser: Browser;
const opened: Browser[] = [];

function setup(features?: { locks: boolean; broadcast: boolean }): Browser {
  browser = new Browser(features);
  opened.push(browser);
  return browser;
}

afterEach(() => {
  for (const b of opened.splice(0)) b.closeAll();
});

async function loggedInTab(b: Browser = setup()) {
  const tab = b.openTab();
  const events: SessionState[] = [];
  tab.onSessionChange((state) => events.push(state));
  await tab.login(ALICE.email, ALICE.password);
  return { tab, events };
}

describe("login", () => {
  it("keeps the token, goes logged-in, and sends JSON credentials with cookies", async () => {
    const { tab, events } = await loggedInTab();
    expect(tab.state).toBe("logged-in");
    expect(events).toEqual(["logged-in"]);
    const [call] = browser.gateway.callsTo("/auth/login");
    expect(call?.method).toBe("POST");
    expect(call?.credentials).toBe("include");
    expect(call?.headers.get("content-type")).toBe("application/json");
    expect(JSON.parse(String(call?.body))).toEqual(ALICE);
    expect(await tab.accessToken()).toMatch(/^ey/);
  });

  it("throws PortcullisError with the server's code and leaves the state alone", async () => {
    const b = setup();
    const tab = b.openTab();
    const events: SessionState[] = [];
    tab.onSessionChange((state) => events.push(state));
    const wrong = await tab.login(ALICE.email, "nope").catch((error: unknown) => error);
    expect(wrong).toBeInstanceOf(PortcullisError);
    expect(wrong).toMatchObject({ status: 401, code: "invalid_credentials" });
    await expect(tab.login("locked@example.com", "x")).rejects.toMatchObject({
      status: 403,
      code: "account_locked",
    });
    await expect(tab.login("busy@example.com", "x")).rejects.toMatchObject({
      status: 429,
      code: "rate_limited",
      retryAfter: 17,
    });
    expect(tab.state).toBe("logged-out");
    expect(events).toEqual([]);
  });

  it("reports an unreachable server as network_error", async () => {
    const b = setup();
    const tab = b.openTab({
      fetch: () => Promise.reject(new TypeError("Failed to fetch")),
    });
    await expect(tab.login(ALICE.email, ALICE.password)).rejects.toMatchObject({
      status: 0,
      code: "network_error",
    });
  });
});

describe("refresh requests", () => {
  it("are POST, credentials include, X-CSRF: 1, no body, to baseUrl", async () => {
    const b = setup();
    b.gateway.cookie = null;
    const tab = b.openTab({ baseUrl: `${BASE}/` });
    await tab.restore();
    const [call] = b.gateway.callsTo("/auth/refresh");
    expect(call?.url).toBe(`${BASE}/auth/refresh`);
    expect(call?.method).toBe("POST");
    expect(call?.credentials).toBe("include");
    expect(call?.headers.get("x-csrf")).toBe("1");
    expect(call?.headers.has("authorization")).toBe(false);
    expect(call?.body ?? null).toBeNull();
  });
});

describe("restore", () => {
  it("is true with a valid refresh cookie, and goes logged-in", async () => {
    const b = setup();
    const before = b.openTab();
    await before.login(ALICE.email, ALICE.password); // leaves a cookie in the jar
    before.close();
    // Same browser, page reloaded: a new client, the cookie still in the jar.
    const page = b.openTab();
    const events: SessionState[] = [];
    page.onSessionChange((state) => events.push(state));
    expect(await page.restore()).toBe(true);
    expect(page.state).toBe("logged-in");
    expect(events).toEqual(["logged-in"]);
    expect(b.gateway.refreshCount).toBe(1);
    // Already holding a fresh token: no second refresh.
    expect(await page.restore()).toBe(true);
    expect(b.gateway.refreshCount).toBe(1);
  });

  it("is false without a cookie, and stays logged-out without an event", async () => {
    const b = setup();
    const page = b.openTab();
    const events: SessionState[] = [];
    page.onSessionChange((state) => events.push(state));
    expect(await page.restore()).toBe(false);
    expect(page.state).toBe("logged-out");
    expect(events).toEqual([]);
  });

  it("is false and revoked when the session was revoked", async () => {
    const b = setup();
    await b.openTab({ environment: { broadcastChannel: null } }).login(ALICE.email, ALICE.password);
    b.gateway.revokeAllSessions();
    const page = b.openTab();
    const events: SessionState[] = [];
    page.onSessionChange((state) => events.push(state));
    expect(await page.restore()).toBe(false);
    expect(page.state).toBe("revoked");
    expect(events).toEqual(["revoked"]);
  });

  it("rejects on 503 and leaves the state alone", async () => {
    const b = setup();
    b.gateway.refreshOverride = {
      response: () =>
        new Response(JSON.stringify({ error: "unavailable", message: "x" }), { status: 503 }),
      once: true,
    };
    const page = b.openTab();
    await expect(page.restore()).rejects.toMatchObject({ status: 503, code: "unavailable" });
    expect(page.state).toBe("logged-out");
  });

  it("lets authFetch wait for a restore in flight instead of failing", async () => {
    const b = setup();
    await b.openTab({ environment: { broadcastChannel: null } }).login(ALICE.email, ALICE.password);
    const page = b.openTab();
    const restoring = page.restore();
    const response = await page.authFetch(`${BASE}/api/data`);
    expect(response.status).toBe(200);
    expect(await restoring).toBe(true);
  });
});

describe("authFetch", () => {
  it("attaches the bearer token and keeps the caller's headers", async () => {
    const { tab } = await loggedInTab();
    const token = await tab.accessToken();
    const response = await tab.authFetch(`${BASE}/api/data`, {
      method: "POST",
      headers: [
        ["X-Request-Id", "42"],
        ["Content-Type", "text/plain"],
      ],
      body: "hello",
    });
    expect(response.status).toBe(200);
    const call = browser.gateway.callsTo("/api/data")[0]!;
    expect(bearerOf(call)).toBe(token);
    expect(call.headers.get("x-request-id")).toBe("42");
    expect(call.headers.get("content-type")).toBe("text/plain");
    expect(call.body).toBe("hello");
    expect(call.method).toBe("POST");
  });

  it("accepts a Request object and a URL object", async () => {
    const { tab } = await loggedInTab();
    const request = new Request(`${BASE}/api/req`, { headers: { "X-Mine": "yes" } });
    expect((await tab.authFetch(request)).status).toBe(200);
    const call = browser.gateway.callsTo("/api/req")[0]!;
    expect(call.headers.get("x-mine")).toBe("yes");
    expect(bearerOf(call)).not.toBeNull();
    expect((await tab.authFetch(new URL(`${BASE}/api/url`))).status).toBe(200);
  });

  it("refreshes first when the token expires within the margin", async () => {
    const { tab } = await loggedInTab();
    const before = await tab.accessToken();
    browser.clock.advance(900 - 29); // 29 s left, margin 30 s
    await tab.authFetch(`${BASE}/api/data`);
    expect(browser.gateway.refreshCount).toBe(1);
    const call = browser.gateway.callsTo("/api/data")[0]!;
    expect(bearerOf(call)).not.toBe(before);
  });

  it("honours refreshMarginSeconds", async () => {
    const b = setup();
    const tab = b.openTab({ refreshMarginSeconds: 120 });
    await tab.login(ALICE.email, ALICE.password);
    b.clock.advance(900 - 100);
    await tab.authFetch(`${BASE}/api/data`);
    expect(b.gateway.refreshCount).toBe(1);
  });

  it("does not refresh a token that is far from expiry", async () => {
    const { tab } = await loggedInTab();
    browser.clock.advance(600);
    await tab.authFetch(`${BASE}/api/data`);
    expect(browser.gateway.refreshCount).toBe(0);
  });

  it("single-flight: 10 concurrent calls on an expiring token make one refresh", async () => {
    const { tab } = await loggedInTab();
    browser.clock.advance(890);
    const responses = await Promise.all(
      Array.from({ length: 10 }, (_, i) => tab.authFetch(`${BASE}/api/item/${i}`)),
    );
    expect(responses.map((r) => r.status)).toEqual(Array(10).fill(200));
    expect(browser.gateway.refreshCount).toBe(1);
    const tokens = new Set(
      browser.gateway.calls.filter((c) => c.path.startsWith("/api/item/")).map(bearerOf),
    );
    expect(tokens.size).toBe(1);
    expect(tokens.has(await tab.accessToken())).toBe(true);
  });

  it("on a 401 refreshes once and retries once", async () => {
    const { tab } = await loggedInTab();
    const old = (await tab.accessToken())!;
    browser.gateway.revokeAccess(old);
    const response = await tab.authFetch(`${BASE}/api/data`, { method: "PUT", body: "payload" });
    expect(response.status).toBe(200);
    const calls = browser.gateway.callsTo("/api/data");
    expect(calls).toHaveLength(2);
    expect(bearerOf(calls[0]!)).toBe(old);
    expect(bearerOf(calls[1]!)).not.toBe(old);
    expect(calls[1]!.body).toBe("payload");
    expect(browser.gateway.refreshCount).toBe(1);
  });

  it("returns the second 401 rather than looping", async () => {
    const { tab } = await loggedInTab();
    browser.gateway.apiOverride = () =>
      new Response(JSON.stringify({ error: "invalid_token", message: "no" }), { status: 401 });
    const response = await tab.authFetch(`${BASE}/api/data`);
    expect(response.status).toBe(401);
    expect(browser.gateway.callsTo("/api/data")).toHaveLength(2);
    expect(browser.gateway.refreshCount).toBe(1);
    expect(tab.state).toBe("logged-in");
  });

  it("retries a GET Request object after a 401", async () => {
    const { tab } = await loggedInTab();
    browser.gateway.revokeAccess((await tab.accessToken())!);
    const response = await tab.authFetch(
      new Request(`${BASE}/api/data`, { headers: { "X-K": "v" } }),
    );
    expect(response.status).toBe(200);
    const calls = browser.gateway.callsTo("/api/data");
    expect(calls).toHaveLength(2);
    expect(calls[1]!.headers.get("x-k")).toBe("v");
  });

  it("does not retry a streaming body, and refreshes before the next call", async () => {
    const { tab } = await loggedInTab();
    const old = (await tab.accessToken())!;
    browser.gateway.revokeAccess(old);
    const body = new ReadableStream({
      start(controller) {
        controller.enqueue(new TextEncoder().encode("chunk"));
        controller.close();
      },
    });
    const response = await tab.authFetch(`${BASE}/api/upload`, {
      method: "POST",
      body,
      // @ts-expect-error: `duplex` is required by fetch for streams but missing from DOM types
      duplex: "half",
    });
    expect(response.status).toBe(401);
    expect(browser.gateway.callsTo("/api/upload")).toHaveLength(1);
    expect(browser.gateway.refreshCount).toBe(0);
    // The refused token is not used again: the next call refreshes first.
    expect((await tab.authFetch(`${BASE}/api/data`)).status).toBe(200);
    expect(browser.gateway.refreshCount).toBe(1);
    expect(bearerOf(browser.gateway.callsTo("/api/data")[0]!)).not.toBe(old);
  });

  it("does not retry a Request object with a body", async () => {
    const { tab } = await loggedInTab();
    browser.gateway.revokeAccess((await tab.accessToken())!);
    const response = await tab.authFetch(
      new Request(`${BASE}/api/data`, { method: "POST", body: "x" }),
    );
    expect(response.status).toBe(401);
    expect(browser.gateway.callsTo("/api/data")).toHaveLength(1);
  });

  it("without a session throws not_logged_in and never calls the API", async () => {
    const b = setup();
    const tab = b.openTab();
    const error = await tab.authFetch(`${BASE}/api/data`).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(PortcullisError);
    expect(error).toMatchObject({ status: 401, code: "not_logged_in" });
    expect(b.gateway.calls).toHaveLength(0);
    expect(await tab.accessToken()).toBeNull();
  });

  it("passes through failures of the API request itself as fetch would", async () => {
    const b = setup();
    const tab = b.openTab({
      fetch: (input, init) => {
        const url = input instanceof Request ? input.url : String(input);
        if (url.includes("/api/")) return Promise.reject(new TypeError("Failed to fetch"));
        return b.gateway.fetch(input, init);
      },
    });
    await tab.login(ALICE.email, ALICE.password);
    await expect(tab.authFetch(`${BASE}/api/data`)).rejects.toBeInstanceOf(TypeError);
  });
});

describe("state transitions", () => {
  it("session_revoked during a refresh: revoked, token forgotten, one event", async () => {
    const { tab, events } = await loggedInTab();
    browser.gateway.revokeAllSessions();
    browser.clock.advance(890);
    const error = await tab.authFetch(`${BASE}/api/data`).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: "not_logged_in", status: 401 });
    expect(((error as PortcullisError).cause as PortcullisError).code).toBe("session_revoked");
    expect(tab.state).toBe("revoked");
    expect(events).toEqual(["logged-in", "revoked"]);
    expect(await tab.accessToken()).toBeNull();
    expect(browser.gateway.callsTo("/api/data")).toHaveLength(0);
  });

  it("refresh_token_reused: revoked", async () => {
    const { tab, events } = await loggedInTab();
    browser.gateway.refreshOverride = {
      response: () =>
        new Response(JSON.stringify({ error: "refresh_token_reused", message: "x" }), {
          status: 401,
        }),
      once: true,
    };
    expect(await tab.restore()).toBe(true); // fresh token: restore needs no refresh
    browser.clock.advance(890);
    expect(await tab.accessToken()).toBeNull();
    expect(tab.state).toBe("revoked");
    expect(events).toEqual(["logged-in", "revoked"]);
  });

  it.each(["missing_refresh_token", "invalid_refresh_token"])("%s: logged-out", async (code) => {
    const { tab, events } = await loggedInTab();
    browser.gateway.refreshOverride = {
      response: () => new Response(JSON.stringify({ error: code, message: "x" }), { status: 401 }),
      once: true,
    };
    browser.clock.advance(890);
    await expect(tab.authFetch(`${BASE}/api/data`)).rejects.toMatchObject({
      code: "not_logged_in",
    });
    expect(tab.state).toBe("logged-out");
    expect(events).toEqual(["logged-in", "logged-out"]);
  });

  it("503 during a refresh surfaces the error and keeps the session", async () => {
    const { tab, events } = await loggedInTab();
    browser.gateway.refreshOverride = {
      response: () =>
        new Response(JSON.stringify({ error: "unavailable", message: "try later" }), {
          status: 503,
        }),
      once: true,
    };
    browser.clock.advance(890);
    await expect(tab.authFetch(`${BASE}/api/data`)).rejects.toMatchObject({
      status: 503,
      code: "unavailable",
    });
    expect(tab.state).toBe("logged-in");
    expect(events).toEqual(["logged-in"]);
    // The next call tries again and succeeds.
    expect((await tab.authFetch(`${BASE}/api/data`)).status).toBe(200);
  });

  it("a network error during a refresh surfaces as network_error and keeps the session", async () => {
    const b = setup();
    let offline = false;
    const tab = b.openTab({
      fetch: (input, init) =>
        offline ? Promise.reject(new TypeError("offline")) : b.gateway.fetch(input, init),
    });
    await tab.login(ALICE.email, ALICE.password);
    offline = true;
    b.clock.advance(890);
    await expect(tab.accessToken()).rejects.toMatchObject({ status: 0, code: "network_error" });
    expect(tab.state).toBe("logged-in");
  });

  it("403 csrf_required surfaces and keeps the session", async () => {
    const { tab } = await loggedInTab();
    browser.gateway.refreshOverride = {
      response: () =>
        new Response(JSON.stringify({ error: "origin_not_allowed", message: "x" }), {
          status: 403,
        }),
      once: true,
    };
    browser.clock.advance(890);
    await expect(tab.accessToken()).rejects.toMatchObject({
      status: 403,
      code: "origin_not_allowed",
    });
    expect(tab.state).toBe("logged-in");
  });

  it("emits only on actual changes and unsubscribes", async () => {
    const b = setup();
    const tab = b.openTab();
    const seen: SessionState[] = [];
    const unsubscribe = tab.onSessionChange((s) => seen.push(s));
    await tab.login(ALICE.email, ALICE.password);
    await tab.login(ALICE.email, ALICE.password); // still logged-in: no event
    b.clock.advance(890);
    await tab.accessToken(); // a refresh: no event
    await tab.logout();
    await tab.logout(); // idempotent, no event
    unsubscribe();
    await tab.login(ALICE.email, ALICE.password);
    expect(seen).toEqual(["logged-in", "logged-out"]);
  });

  it("a throwing listener does not break the client", async () => {
    const b = setup();
    const tab = b.openTab();
    // Listener errors are rethrown from a microtask, as an event handler's would be reported.
    const reported: unknown[] = [];
    vi.stubGlobal("queueMicrotask", (task: () => void) => {
      try {
        task();
      } catch (error) {
        reported.push(error);
      }
    });
    try {
      tab.onSessionChange(() => {
        throw new Error("listener bug");
      });
      const seen: SessionState[] = [];
      tab.onSessionChange((s) => seen.push(s));
      await tab.login(ALICE.email, ALICE.password);
      expect(seen).toEqual(["logged-in"]);
      expect(tab.state).toBe("logged-in");
      expect(reported).toEqual([new Error("listener bug")]);
    } finally {
      vi.unstubAllGlobals();
    }
  });
});

describe("logout", () => {
  it("calls the server with X-CSRF, the bearer token and cookies, and forgets the token", async () => {
    const { tab, events } = await loggedInTab();
    const token = await tab.accessToken();
    await tab.logout();
    const [call] = browser.gateway.callsTo("/auth/logout");
    expect(call?.method).toBe("POST");
    expect(call?.credentials).toBe("include");
    expect(call?.headers.get("x-csrf")).toBe("1");
    expect(bearerOf(call!)).toBe(token);
    expect(tab.state).toBe("logged-out");
    expect(events).toEqual(["logged-in", "logged-out"]);
    expect(await tab.accessToken()).toBeNull();
    expect(browser.gateway.cookie).toBeNull();
    expect(await tab.restore()).toBe(false);
  });

  it("forgets the token even when the server cannot be reached, then rethrows", async () => {
    const b = setup();
    let offline = false;
    const tab = b.openTab({
      fetch: (input, init) =>
        offline ? Promise.reject(new TypeError("offline")) : b.gateway.fetch(input, init),
    });
    await tab.login(ALICE.email, ALICE.password);
    offline = true;
    await expect(tab.logout()).rejects.toMatchObject({ code: "network_error" });
    expect(tab.state).toBe("logged-out");
  });

  it("logoutAll revokes every session with the bearer token", async () => {
    const { tab, events } = await loggedInTab();
    const token = await tab.accessToken();
    await tab.logoutAll();
    const [call] = browser.gateway.callsTo("/auth/logout-all");
    expect(bearerOf(call!)).toBe(token);
    expect(call?.credentials).toBe("include");
    expect(tab.state).toBe("logged-out");
    expect(events).toEqual(["logged-in", "logged-out"]);
  });

  it("logoutAll refreshes first when the token is due, and retries once after a 401", async () => {
    const { tab } = await loggedInTab();
    browser.clock.advance(890);
    await tab.logoutAll();
    expect(browser.gateway.refreshCount).toBe(1);
    const b = setup();
    const other = b.openTab();
    await other.login(ALICE.email, ALICE.password);
    b.gateway.revokeAccess((await other.accessToken())!);
    await other.logoutAll();
    expect(b.gateway.callsTo("/auth/logout-all")).toHaveLength(2);
    expect(other.state).toBe("logged-out");
  });

  it("logoutAll without a session throws not_logged_in", async () => {
    const b = setup();
    await expect(b.openTab().logoutAll()).rejects.toMatchObject({ code: "not_logged_in" });
    expect(b.gateway.calls).toHaveLength(0);
  });
});

describe("construction", () => {
  it("works with no options at all and uses the global fetch lazily", () => {
    const client = new PortcullisClient();
    expect(client.state).toBe("logged-out");
    client.close();
  });

  it("reports its coordination mode", () => {
    const b = setup();
    expect(b.openTab().coordination).toBe("web-locks");
    const noLocks = setup({ locks: false, broadcast: true });
    expect(noLocks.openTab().coordination).toBe("broadcast");
    const neither = setup({ locks: false, broadcast: false });
    expect(neither.openTab().coordination).toBe("local");
  });
});
