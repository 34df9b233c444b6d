import { afterEach, describe, expect, it, vi } from "vitest";
import type { SessionInfo } from "../src/index.js";
import { ALICE, BASE, Browser, makeJwt, settle } from "./fakes.js";

const opened: Browser[] = [];

function browser(): Browser {
  const b = new Browser();
  opened.push(b);
  return b;
}

afterEach(() => {
  for (const b of opened.splice(0)) b.closeAll();
});

const SIGNED_OUT: SessionInfo = {
  state: "logged-out",
  sessionId: null,
  receivedAt: null,
  expiresAt: null,
  refreshDueAt: null,
  refreshes: 0,
  lastRefreshAt: null,
};

describe("sessionInfo", () => {
  it("is empty before a session", () => {
    expect(browser().openTab().sessionInfo).toEqual(SIGNED_OUT);
  });

  it("after login: the token's sid, its expiry, when it is due, and no refresh yet", async () => {
    const b = browser();
    const tab = b.openTab();
    const loginAt = b.clock.now();
    await tab.login(ALICE.email, ALICE.password);
    const info = tab.sessionInfo;
    expect(info).toEqual({
      state: "logged-in",
      sessionId: expect.stringMatching(/^s\d+$/),
      receivedAt: loginAt,
      expiresAt: loginAt + 900_000,
      refreshDueAt: loginAt + 870_000, // the default 30 s margin
      refreshes: 0,
      lastRefreshAt: null,
    });
  });

  it("counts each silent refresh, keeps the session id, and moves the expiry", async () => {
    const b = browser();
    const tab = b.openTab();
    await tab.login(ALICE.email, ALICE.password);
    const first = tab.sessionInfo;
    for (const round of [1, 2]) {
      b.clock.advance(890);
      const refreshedAt = b.clock.now();
      expect((await tab.authFetch(`${BASE}/api/data`)).status).toBe(200);
      expect(tab.sessionInfo).toEqual({
        ...first,
        receivedAt: refreshedAt,
        expiresAt: refreshedAt + 900_000,
        refreshDueAt: refreshedAt + 870_000,
        refreshes: round,
        lastRefreshAt: refreshedAt,
      });
    }
    expect(b.gateway.refreshCount).toBe(2);
  });

  it("starts at zero refreshes when restore() brings the session back", async () => {
    const b = browser();
    await b.openTab().login(ALICE.email, ALICE.password);
    const page = b.openTab({ environment: { broadcastChannel: null } });
    expect(await page.restore()).toBe(true);
    expect(page.sessionInfo).toMatchObject({ state: "logged-in", refreshes: 0 });
  });

  it("counts a refresh made by another tab, which rotated the shared cookie", async () => {
    const b = browser();
    const a = b.openTab();
    const other = b.openTab();
    await a.login(ALICE.email, ALICE.password);
    await settle(30);
    const sessionId = a.sessionInfo.sessionId;
    expect(other.sessionInfo).toMatchObject({ sessionId, refreshes: 0 });
    b.clock.advance(890);
    await other.authFetch(`${BASE}/api/data`);
    await settle(30);
    expect(a.sessionInfo).toMatchObject({
      sessionId,
      refreshes: 1,
      lastRefreshAt: other.sessionInfo.lastRefreshAt,
    });
  });

  it("starts over for another session, and is empty again after the end", async () => {
    const b = browser();
    const tab = b.openTab();
    await tab.login(ALICE.email, ALICE.password);
    b.clock.advance(890);
    await tab.authFetch(`${BASE}/api/data`);
    const before = tab.sessionInfo.sessionId;
    await tab.login(ALICE.email, ALICE.password); // a second login is a new session
    expect(tab.sessionInfo.sessionId).not.toBe(before);
    expect(tab.sessionInfo).toMatchObject({ refreshes: 0, lastRefreshAt: null });
    await tab.logout();
    expect(tab.sessionInfo).toEqual(SIGNED_OUT);
  });

  it("reports an unknown expiry and a missing sid as null", async () => {
    const b = browser();
    const opaque = b.openTab({
      fetch: async (input, init) => {
        const response = await b.gateway.fetch(input, init);
        if (!String(input).endsWith("/auth/login")) return response;
        return new Response(JSON.stringify({ access_token: makeJwt({ sub: "x" }) }));
      },
    });
    await opaque.login(ALICE.email, ALICE.password);
    expect(opaque.sessionInfo).toMatchObject({
      state: "logged-in",
      sessionId: null,
      expiresAt: null,
      refreshDueAt: null,
    });
  });
});

describe("onSessionInfo", () => {
  it("reports login, every refresh and the end, and stops after unsubscribing", async () => {
    const b = browser();
    const tab = b.openTab();
    const seen: Array<[string, number]> = [];
    const unsubscribe = tab.onSessionInfo((info) => seen.push([info.state, info.refreshes]));
    await tab.login(ALICE.email, ALICE.password);
    b.clock.advance(890);
    await tab.authFetch(`${BASE}/api/data`);
    await tab.authFetch(`${BASE}/api/data`); // fresh token: nothing changes, nothing reported
    await tab.logout();
    expect(seen).toEqual([
      ["logged-in", 0],
      ["logged-in", 1],
      ["logged-out", 0],
    ]);
    unsubscribe();
    await tab.login(ALICE.email, ALICE.password);
    expect(seen).toHaveLength(3);
  });

  it("a throwing listener breaks neither the client nor the other listeners", async () => {
    const tab = browser().openTab();
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
      tab.onSessionInfo(() => {
        throw new Error("listener bug");
      });
      const seen: number[] = [];
      tab.onSessionInfo((info) => seen.push(info.refreshes));
      await tab.login(ALICE.email, ALICE.password);
      expect(tab.state).toBe("logged-in");
      expect(seen).toEqual([0]);
      expect(reported).toEqual([new Error("listener bug")]);
    } finally {
      vi.unstubAllGlobals();
    }
  });
});
