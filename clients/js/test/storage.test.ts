import { afterEach, describe, expect, it, vi } from "vitest";
import { PortcullisClient } from "../src/index.js";
import { ALICE, BASE, FakeGateway, FakeLockManager, Clock, settle } from "./fakes.js";

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

  it("has no code referring to storage APIs", () => {
    const sources = import.meta.glob<string>("../src/*.ts", {
      query: "?raw",
      import: "default",
      eager: true,
    });
    expect(Object.keys(sources).length).toBeGreaterThan(5);
    for (const [file, text] of Object.entries(sources)) {
      const code = text.replace(/\/\*[\s\S]*?\*\//g, "").replace(/(^|[^:])\/\/.*$/gm, "$1");
      expect(code, file).not.toMatch(
        /localStorage|sessionStorage|document\s*\.\s*cookie|indexedDB/i,
      );
    }
  });
});
