import { afterEach, describe, expect, it } from "vitest";
import type { PortcullisClient, SessionState } from "../src/index.js";
import { ALICE, BASE, Browser, bearerOf, settle } from "./fakes.js";

const opened: Browser[] = [];

function browserWith(features = { locks: true, broadcast: true }): Browser {
  const b = new Browser(features);
  opened.push(b);
  return b;
}

afterEach(() => {
  for (const b of opened.splice(0)) b.closeAll();
});

function record(tab: PortcullisClient): SessionState[] {
  const seen: SessionState[] = [];
  tab.onSessionChange((state) => seen.push(state));
  return seen;
}

/** Opens `n` tabs, logs in in the first, and waits until every tab adopted the token. */
async function loggedInTabs(b: Browser, n: number): Promise<PortcullisClient[]> {
  const tabs = Array.from({ length: n }, () => b.openTab());
  await tabs[0]!.login(ALICE.email, ALICE.password);
  await settle();
  for (const tab of tabs) expect(tab.state).toBe("logged-in");
  return tabs;
}

function apiTokens(b: Browser, prefix = "/api/"): Set<string | null> {
  return new Set(b.gateway.calls.filter((c) => c.path.startsWith(prefix)).map(bearerOf));
}

describe("sharing between tabs", () => {
  it("a login in one tab logs in the others with the same token", async () => {
    const b = browserWith();
    const [a, other] = [b.openTab(), b.openTab()];
    const seen = record(other!);
    await a!.login(ALICE.email, ALICE.password);
    await settle();
    expect(other!.state).toBe("logged-in");
    expect(seen).toEqual(["logged-in"]);
    expect(await other!.accessToken()).toBe(await a!.accessToken());
    expect(b.gateway.refreshCount).toBe(0);
  });

  it("a logout in one tab logs out the others", async () => {
    const b = browserWith();
    const [a, other] = await loggedInTabs(b, 2);
    const seen = record(other!);
    await a!.logout();
    await settle();
    expect(other!.state).toBe("logged-out");
    expect(seen).toEqual(["logged-out"]);
    await expect(other!.authFetch(`${BASE}/api/data`)).rejects.toMatchObject({
      code: "not_logged_in",
    });
    expect(b.gateway.callsTo("/api/data")).toHaveLength(0);
  });

  it("logoutAll in one tab logs out the others", async () => {
    const b = browserWith();
    const [a, other] = await loggedInTabs(b, 2);
    await a!.logoutAll();
    await settle();
    expect(other!.state).toBe("logged-out");
  });

  it("a revocation found by one tab's refresh revokes the others", async () => {
    const b = browserWith();
    const [a, other] = await loggedInTabs(b, 2);
    const seen = record(other!);
    b.gateway.revokeAllSessions();
    b.clock.advance(890);
    expect(await a!.accessToken()).toBeNull();
    await settle();
    expect(a!.state).toBe("revoked");
    expect(other!.state).toBe("revoked");
    expect(seen).toEqual(["revoked"]);
    expect(await other!.accessToken()).toBeNull();
    expect(b.gateway.refreshCount).toBe(1);
  });

  it("ignores news older than what the tab knows, and malformed messages", async () => {
    const b = browserWith();
    const [tab] = await loggedInTabs(b, 1);
    const token = await tab!.accessToken();
    const raw = b.bus!.factory(`portcullis:${BASE}:tabs`);
    raw.postMessage({ v: 1, kind: "ended", from: "x", state: "revoked", at: b.clock.ms - 1 });
    raw.postMessage({
      v: 1,
      kind: "token",
      from: "x",
      token: { value: "", issuedAt: 1, expiresAt: 2 },
    });
    raw.postMessage({
      v: 1,
      kind: "token",
      from: "x",
      token: { value: "old", issuedAt: 1, expiresAt: Infinity },
    });
    raw.postMessage({ v: 2, kind: "ended", from: "x", state: "revoked", at: b.clock.ms + 1 });
    raw.postMessage({ kind: "ended" });
    raw.postMessage("hello");
    raw.postMessage(null);
    await settle();
    expect(tab!.state).toBe("logged-in");
    expect(await tab!.accessToken()).toBe(token);
    // Fresh news applies.
    raw.postMessage({ v: 1, kind: "ended", from: "x", state: "revoked", at: b.clock.ms });
    await settle();
    expect(tab!.state).toBe("revoked");
    raw.close();
  });

  it("uses a separate channel and lock per lockName", async () => {
    const b = browserWith();
    const a = b.openTab({ lockName: "app-one" });
    const other = b.openTab({ lockName: "app-two" });
    await a.login(ALICE.email, ALICE.password);
    await settle();
    expect(other.state).toBe("logged-out");
    expect(b.bus!.posted.every((m) => m.name === "app-one:tabs")).toBe(true);
  });
});

describe("cross-tab single flight with Web Locks", () => {
  it("two tabs refreshing at the same moment make one rotation", async () => {
    const b = browserWith();
    const [a, other] = await loggedInTabs(b, 2);
    b.clock.advance(890);
    const responses = await Promise.all([
      a!.authFetch(`${BASE}/api/a`),
      other!.authFetch(`${BASE}/api/b`),
    ]);
    expect(responses.map((r) => r.status)).toEqual([200, 200]);
    expect(b.gateway.refreshCount).toBe(1);
    expect(apiTokens(b).size).toBe(1);
    expect(await a!.accessToken()).toBe(await other!.accessToken());
  });

  it("five tabs with ten calls each make one rotation", async () => {
    const b = browserWith();
    const tabs = await loggedInTabs(b, 5);
    b.clock.advance(890);
    const responses = await Promise.all(
      tabs.flatMap((tab, t) =>
        Array.from({ length: 10 }, (_, i) => tab.authFetch(`${BASE}/api/${t}/${i}`)),
      ),
    );
    expect(responses.every((r) => r.status === 200)).toBe(true);
    expect(b.gateway.refreshCount).toBe(1);
    expect(apiTokens(b).size).toBe(1);
  });

  it("tabs restoring at page load at the same moment make one rotation", async () => {
    const b = browserWith();
    const first = b.openTab();
    await first.login(ALICE.email, ALICE.password);
    first.close(); // the page is reloaded: only the cookie remains
    const tabs = [b.openTab(), b.openTab(), b.openTab()];
    expect(await Promise.all(tabs.map((tab) => tab.restore()))).toEqual([true, true, true]);
    expect(b.gateway.refreshCount).toBe(1);
    const tokens = await Promise.all(tabs.map((tab) => tab.accessToken()));
    expect(new Set(tokens).size).toBe(1);
  });

  it("still one rotation when the broadcast is slower than the lock hand-over", async () => {
    const b = browserWith();
    b.bus!.latencyMs = 4; // the lock's next grant would come first without the hand-off delay
    const [a, other] = await loggedInTabs(b, 2);
    b.clock.advance(890);
    await Promise.all([a!.accessToken(), other!.accessToken()]);
    expect(b.gateway.refreshCount).toBe(1);
  });

  it("a tab whose token another tab already replaced uses it without refreshing", async () => {
    const b = browserWith();
    const [a, other] = await loggedInTabs(b, 2);
    b.clock.advance(890);
    await a!.accessToken();
    await settle();
    await other!.authFetch(`${BASE}/api/data`);
    expect(b.gateway.refreshCount).toBe(1);
  });

  it("a 401 in two tabs at once makes one rotation", async () => {
    const b = browserWith();
    const [a, other] = await loggedInTabs(b, 2);
    b.gateway.revokeAccess((await a!.accessToken())!);
    const responses = await Promise.all([
      a!.authFetch(`${BASE}/api/a`),
      other!.authFetch(`${BASE}/api/b`),
    ]);
    expect(responses.map((r) => r.status)).toEqual([200, 200]);
    expect(b.gateway.refreshCount).toBe(1);
  });

  it("tabs waiting for the lock learn of a revocation instead of refreshing again", async () => {
    const b = browserWith();
    const tabs = await loggedInTabs(b, 3);
    b.gateway.revokeAllSessions();
    b.clock.advance(890);
    const results = await Promise.allSettled(tabs.map((tab) => tab.authFetch(`${BASE}/api/x`)));
    expect(results.every((r) => r.status === "rejected")).toBe(true);
    for (const r of results) {
      expect((r as PromiseRejectedResult).reason).toMatchObject({ code: "not_logged_in" });
    }
    expect(tabs.map((tab) => tab.state)).toEqual(["revoked", "revoked", "revoked"]);
    expect(b.gateway.refreshCount).toBe(1);
  });

  it("a tab refreshes on its own when the lock is held too long", async () => {
    const b = browserWith();
    const tab = b.openTab({ environment: { crossTabTimeoutMs: 50 } });
    await tab.login(ALICE.email, ALICE.password);
    let releaseStuck!: () => void;
    void b.locks!.request(
      `portcullis:${BASE}`,
      {},
      () => new Promise<void>((r) => (releaseStuck = r)),
    );
    await settle(5);
    b.clock.advance(890);
    expect(await tab.accessToken()).not.toBeNull();
    expect(b.gateway.refreshCount).toBe(1);
    releaseStuck();
  });

  it("a 503 in the lock holder lets the next tab try", async () => {
    const b = browserWith();
    const [a, other] = await loggedInTabs(b, 2);
    b.gateway.refreshOverride = {
      response: () =>
        new Response(JSON.stringify({ error: "unavailable", message: "x" }), { status: 503 }),
      once: true,
    };
    b.clock.advance(890);
    const [first, second] = await Promise.allSettled([a!.accessToken(), other!.accessToken()]);
    const outcomes = [first, second].map((r) => r.status).sort();
    expect(outcomes).toEqual(["fulfilled", "rejected"]);
    expect(b.gateway.refreshCount).toBe(2);
    expect([a!.state, other!.state]).toEqual(["logged-in", "logged-in"]);
  });
});

describe("cross-tab single flight with BroadcastChannel only", () => {
  const noLocks = { locks: false, broadcast: true };

  it("two tabs refreshing at the same moment make one rotation", async () => {
    const b = browserWith(noLocks);
    const [a, other] = await loggedInTabs(b, 2);
    expect(a!.coordination).toBe("broadcast");
    b.clock.advance(890);
    const responses = await Promise.all([
      a!.authFetch(`${BASE}/api/a`),
      other!.authFetch(`${BASE}/api/b`),
    ]);
    expect(responses.map((r) => r.status)).toEqual([200, 200]);
    expect(b.gateway.refreshCount).toBe(1);
    expect(apiTokens(b).size).toBe(1);
  });

  it("four tabs make one rotation", async () => {
    const b = browserWith(noLocks);
    const tabs = await loggedInTabs(b, 4);
    b.clock.advance(890);
    await Promise.all(tabs.map((tab) => tab.accessToken()));
    expect(b.gateway.refreshCount).toBe(1);
    expect(new Set(await Promise.all(tabs.map((tab) => tab.accessToken()))).size).toBe(1);
  });

  it("a tab arriving while another refreshes waits for its result", async () => {
    const b = browserWith(noLocks);
    b.gateway.refreshDelayMs = 40;
    const [a, other] = await loggedInTabs(b, 2);
    b.clock.advance(890);
    const first = a!.accessToken();
    await settle(20); // a's claim is out, its request in flight
    const second = other!.accessToken();
    expect(await second).toBe(await first);
    expect(b.gateway.refreshCount).toBe(1);
  });

  it("when the claiming tab fails, the waiting tab refreshes itself", async () => {
    const b = browserWith(noLocks);
    b.gateway.refreshDelayMs = 20;
    const [a, other] = await loggedInTabs(b, 2);
    b.gateway.refreshOverride = {
      response: () =>
        new Response(JSON.stringify({ error: "unavailable", message: "x" }), { status: 503 }),
      once: true,
    };
    b.clock.advance(890);
    const first = a!.accessToken();
    await settle(15);
    const second = other!.accessToken();
    await expect(first).rejects.toMatchObject({ code: "unavailable" });
    expect(await second).not.toBeNull();
    expect(b.gateway.refreshCount).toBe(2);
  });

  it("a silent claimant is waited for only up to the timeout", async () => {
    const b = browserWith(noLocks);
    const tab = b.openTab({ environment: { crossTabTimeoutMs: 60 } });
    await tab.login(ALICE.email, ALICE.password);
    b.clock.advance(890);
    const ghost = b.bus!.factory(`portcullis:${BASE}:tabs`);
    ghost.postMessage({ v: 1, kind: "claim", from: "ghost", at: 0 });
    await settle(5);
    const started = Date.now();
    expect(await tab.accessToken()).not.toBeNull();
    expect(Date.now() - started).toBeGreaterThanOrEqual(50);
    expect(b.gateway.refreshCount).toBe(1);
    ghost.close();
  });

  it("logout still reaches the other tabs", async () => {
    const b = browserWith(noLocks);
    const [a, other] = await loggedInTabs(b, 2);
    await a!.logout();
    await settle();
    expect(other!.state).toBe("logged-out");
  });
});

describe("without Web Locks or BroadcastChannel", () => {
  it("still makes one refresh per tab for concurrent callers", async () => {
    const b = browserWith({ locks: false, broadcast: false });
    const tab = b.openTab();
    expect(tab.coordination).toBe("local");
    await tab.login(ALICE.email, ALICE.password);
    b.clock.advance(890);
    await Promise.all(Array.from({ length: 10 }, () => tab.authFetch(`${BASE}/api/x`)));
    expect(b.gateway.refreshCount).toBe(1);
    expect(apiTokens(b).size).toBe(1);
  });

  it("tabs do not hear of each other", async () => {
    const b = browserWith({ locks: false, broadcast: false });
    const [a, other] = [b.openTab(), b.openTab()];
    await a.login(ALICE.email, ALICE.password);
    await settle();
    expect(other.state).toBe("logged-out");
    expect(await other.restore()).toBe(true); // via the shared cookie
  });
});
