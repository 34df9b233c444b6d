import { afterEach, describe, expect, it, vi } from "vitest";
import { PortcullisClient } from "../src/index.js";
import { defaultMarkerStorage } from "../src/signedOut.js";
import {
  ALICE,
  BASE,
  Browser,
  Clock,
  FakeGateway,
  FakeLockManager,
  MARKER,
  MemoryStorage,
  settle,
} from "./fakes.js";

/** An object that records every property access or assignment made on it. */
function spied(name: string, touched: string[]): object {
  return new Proxy(
    {},
    {
      get: (_target, key) => {
        touched.push(`${name}.${String(key)} read`);
        return () => null;
      },
      set: (_target, key) => {
        touched.push(`${name}.${String(key)} written`);
        return true;
      },
      has: (_target, key) => {
        touched.push(`${name} has ${String(key)}`);
        return false;
      },
      ownKeys: () => {
        touched.push(`${name} enumerated`);
        return [];
      },
    },
  );
}

// Vite's import.meta.glob (vitest runs on Vite), declared here to need no extra type package.
declare global {
  interface ImportMeta {
    glob<T>(
      pattern: string,
      options: { query: string; import: string; eager: true },
    ): Record<string, T>;
  }
}

afterEach(() => {
  vi.unstubAllGlobals();
});

describe("the token never reaches storage", () => {
  // A client of another origin keeps no signed-out marker by default (see defaultMarkerStorage),
  // so it touches no storage at all; the marker's own writes are checked below.
  it("leaves web storage, cookies and IndexedDB untouched through a whole session", async () => {
    const touched: string[] = [];
    const document = {};
    Object.defineProperty(document, "cookie", {
      get: () => {
        touched.push("document.cookie read");
        return "";
      },
      set: () => {
        touched.push("document.cookie written");
      },
    });
    vi.stubGlobal("localStorage", spied("localStorage", touched));
    vi.stubGlobal("sessionStorage", spied("sessionStorage", touched));
    vi.stubGlobal("indexedDB", spied("indexedDB", touched));
    vi.stubGlobal("document", document);
    // Defaults taken from the environment: navigator.locks (a fake) and the real
    // BroadcastChannel of Node, so this also exercises the default wiring.
    vi.stubGlobal("navigator", { locks: new FakeLockManager() });

    const clock = new Clock();
    const gateway = new FakeGateway(clock);
    const open = (lockName: string) =>
      new PortcullisClient({
        baseUrl: BASE,
        fetch: gateway.fetch,
        lockName,
        environment: { now: clock.now },
      });
    const a = open("storage-test");
    const b = open("storage-test");
    const c = open("storage-test-other-app");
    try {
      expect(a.coordination).toBe("web-locks");
      await a.login(ALICE.email, ALICE.password);
      await settle(50);
      expect(b.state).toBe("logged-in"); // the token travelled over the real BroadcastChannel
      clock.advance(890);
      await Promise.all([a.authFetch(`${BASE}/api/a`), b.authFetch(`${BASE}/api/b`)]);
      expect(gateway.refreshCount).toBe(1);
      gateway.revokeAccess((await a.accessToken())!);
      await a.authFetch(`${BASE}/api/c`, { method: "POST", body: "x" });
      expect(await c.restore()).toBe(true);
      await b.logout();
      await settle(50);
      expect(a.state).toBe("logged-out");
      await a.restore();
    } finally {
      a.close();
      b.close();
      c.close();
    }
    expect(touched).toEqual([]);
    // The spies do see access when there is some.
    (globalThis as { localStorage?: Storage }).localStorage?.getItem("x");
    expect(touched).toEqual(["localStorage.getItem read"]);
  });

  it("writes only the signed-out marker, with the value 1, through a whole session", async () => {
    const b = new Browser();
    const a = b.openTab();
    const c = b.openTab();
    const tokens: string[] = [];
    try {
      expect(await a.restore()).toBe(false); // first visit: asks, is refused, remembers
      await a.login(ALICE.email, ALICE.password);
      tokens.push((await a.accessToken())!);
      b.clock.advance(890);
      await a.authFetch(`${BASE}/api/a`);
      tokens.push((await a.accessToken())!);
      await settle(30);
      tokens.push((await c.accessToken())!);
      await c.logout();
      await settle(30);
      expect(await a.restore()).toBe(false);
    } finally {
      b.closeAll();
    }
    expect(b.storage.writes).toEqual([
      `set ${MARKER}=1`, // the first restore's 401
      `remove ${MARKER}`, // login
      `remove ${MARKER}`, // the refresh
      `set ${MARKER}=1`, // logout
    ]);
    for (const token of tokens) {
      expect(token).toMatch(/^ey/);
      expect(b.storage.writes.join("\n")).not.toContain(token);
    }
  });

  it("has no code referring to storage APIs, except the marker's localStorage", () => {
    const sources = import.meta.glob<string>("../src/*.ts", {
      query: "?raw",
      import: "default",
      eager: true,
    });
    expect(Object.keys(sources).length).toBeGreaterThan(5);
    for (const [file, text] of Object.entries(sources)) {
      const code = text.replace(/\/\*[\s\S]*?\*\//g, "").replace(/(^|[^:])\/\/.*$/gm, "$1");
      expect(code, file).not.toMatch(/sessionStorage|document\s*\.\s*cookie|indexedDB/i);
      if (file.endsWith("/signedOut.ts")) {
        expect(code, file).toMatch(/globalThis as \{ localStorage\?/);
      } else {
        expect(code, file).not.toMatch(/localStorage/i);
      }
    }
  });
});

describe("the signed-out marker", () => {
  it("lets restore() answer false without a request after a logout", async () => {
    const b = new Browser();
    const tab = b.openTab();
    await tab.login(ALICE.email, ALICE.password);
    await tab.logout();
    const reloaded = b.openTab();
    const events: string[] = [];
    reloaded.onSessionChange((state) => events.push(state));
    expect(await reloaded.restore()).toBe(false);
    expect(reloaded.state).toBe("logged-out");
    expect(events).toEqual([]);
    expect(b.gateway.refreshCount).toBe(0);
    b.closeAll();
  });

  it("is set by the refresh that finds the session revoked, so the next load asks no more", async () => {
    const b = new Browser();
    await b.openTab().login(ALICE.email, ALICE.password);
    b.gateway.revokeAllSessions();
    expect(await b.openTab().restore()).toBe(false);
    expect(b.gateway.refreshCount).toBe(1);
    expect(await b.openTab().restore()).toBe(false);
    expect(b.gateway.refreshCount).toBe(1);
    b.closeAll();
  });

  it("costs a browser that never signed in one refused refresh, then none", async () => {
    const b = new Browser();
    expect(await b.openTab().restore()).toBe(false);
    expect(await b.openTab().restore()).toBe(false);
    expect(b.gateway.callsTo("/auth/refresh").length).toBe(1);
    b.closeAll();
  });

  it("is cleared by a login in any tab, so the next load restores the session", async () => {
    const b = new Browser();
    expect(await b.openTab().restore()).toBe(false);
    await b.openTab().login(ALICE.email, ALICE.password);
    expect(b.storage.items.has(MARKER)).toBe(false);
    const reloaded = b.openTab();
    expect(await reloaded.restore()).toBe(true);
    expect(reloaded.state).toBe("logged-in");
    b.closeAll();
  });

  it("absent while the cookie is gone costs one refused refresh (cleared storage)", async () => {
    const b = new Browser();
    await b.openTab().login(ALICE.email, ALICE.password);
    b.gateway.cookie = null; // the user cleared cookies but not storage
    expect(await b.openTab().restore()).toBe(false);
    expect(await b.openTab().restore()).toBe(false);
    expect(b.gateway.refreshCount).toBe(1);
    b.closeAll();
  });

  it("is ignored when storage throws: restore() asks, as without a marker", async () => {
    const b = new Browser();
    const tab = b.openTab();
    await tab.login(ALICE.email, ALICE.password);
    await tab.logout();
    b.storage.failure = new DOMException("denied", "SecurityError");
    expect(await b.openTab().restore()).toBe(false);
    expect(b.gateway.refreshCount).toBe(1);
    b.storage.failure = null;
    b.closeAll();
  });

  it("is set by a logout whose request failed, so a reload does not sign the user back in", async () => {
    const b = new Browser();
    let offline = false;
    const tab = b.openTab({
      fetch: (input, init) =>
        offline ? Promise.reject(new TypeError("offline")) : b.gateway.fetch(input, init),
    });
    await tab.login(ALICE.email, ALICE.password);
    offline = true;
    await expect(tab.logout()).rejects.toMatchObject({ code: "network_error" });
    expect(b.gateway.cookie).not.toBeNull(); // the cookie survived
    expect(await b.openTab().restore()).toBe(false);
    expect(b.gateway.refreshCount).toBe(0);
    b.closeAll();
  });

  it("does not stop a tab that already holds a session", async () => {
    const b = new Browser();
    const tab = b.openTab();
    await tab.login(ALICE.email, ALICE.password);
    b.storage.setItem(MARKER, "1"); // e.g. written by a tab of an older page
    expect(await tab.restore()).toBe(true);
    expect(tab.state).toBe("logged-in");
    b.closeAll();
  });

  it("is kept in localStorage only when the gateway is on the page's origin", () => {
    const storage = new MemoryStorage();
    vi.stubGlobal("localStorage", storage);
    expect(defaultMarkerStorage("")).toBe(storage);
    expect(defaultMarkerStorage(BASE)).toBeNull(); // no page here to compare origins with
    vi.stubGlobal("location", { href: `${BASE}/app/`, origin: BASE });
    expect(defaultMarkerStorage(BASE)).toBe(storage);
    expect(defaultMarkerStorage("https://auth.example.com")).toBeNull();
    vi.stubGlobal("localStorage", undefined);
    expect(defaultMarkerStorage("")).toBeNull();
  });

  it("treats a localStorage that throws on access as none", () => {
    Object.defineProperty(globalThis, "localStorage", {
      configurable: true,
      get: () => {
        throw new DOMException("denied", "SecurityError");
      },
    });
    try {
      expect(defaultMarkerStorage("")).toBeNull();
    } finally {
      delete (globalThis as { localStorage?: unknown }).localStorage;
    }
  });
});
