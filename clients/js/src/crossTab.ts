// crossTab.ts — owns coordination between tabs of one origin, so that tabs needing a refresh at
// the same moment cause one rotation of the refresh cookie, not one each. Three strategies:
//
// - Web Locks (`navigator.locks`): a refresh runs while holding an exclusive lock. A tab waiting
//   for the lock gives up waiting as soon as its session changes (another tab's fresh token
//   arrived over the BroadcastChannel), and re-checks once more after the lock is granted. The
//   holder keeps the lock a moment (`handoffMs`) after broadcasting, so the message reaches the
//   other tabs before they can take the lock.
// - BroadcastChannel only (e.g. Web Locks missing outside secure contexts): a tab announces a
//   claim, waits `claimSettleMs` to hear rival claims, and the earliest claim (ties broken by tab
//   id) refreshes while the others wait for its result, up to `timeoutMs`, before refreshing
//   themselves.
// - Neither: no cross-tab coordination (within-tab single flight still applies).

import type { TabChannel, TabMessage } from "./channel.js";

/** The minimum of the Web Locks `LockManager` this client uses. */
export interface LockManagerLike {
  request<T>(
    name: string,
    options: { mode?: "exclusive" | "shared"; signal?: AbortSignal },
    callback: (lock: unknown) => Promise<T> | T,
  ): Promise<T>;
}

export type CoordinationMode = "web-locks" | "broadcast" | "local";

/** `ran: false` — the task was skipped because `settled()` became true while waiting. */
export type ExclusiveResult<T> = { ran: true; value: T } | { ran: false };

export interface Coordinator {
  readonly mode: CoordinationMode;
  /**
   * Runs `task` as the only refresher across tabs, unless `settled()` becomes true first (then
   * resolves `{ran: false}` without running it).
   */
  exclusive<T>(task: () => Promise<T>, settled: () => boolean): Promise<ExclusiveResult<T>>;
  /** Runs `task` (login, logout) after any refresh in flight in another tab has finished. */
  serialize<T>(task: () => Promise<T>): Promise<T>;
  close(): void;
}

export interface CoordinatorOptions {
  lockName: string;
  locks: LockManagerLike | null;
  channel: TabChannel;
  /** Subscribes to every change of this tab's session. */
  watch: (watcher: () => void) => () => void;
  now: () => number;
  timeoutMs: number;
  claimSettleMs: number;
  handoffMs: number;
}

export function createCoordinator(options: CoordinatorOptions): Coordinator {
  if (options.locks !== null) return new LockCoordinator(options, options.locks);
  if (options.channel.available) return new BroadcastCoordinator(options);
  return new LocalCoordinator();
}

class LocalCoordinator implements Coordinator {
  readonly mode = "local";

  async exclusive<T>(task: () => Promise<T>, settled: () => boolean): Promise<ExclusiveResult<T>> {
    if (settled()) return { ran: false };
    return { ran: true, value: await task() };
  }

  serialize<T>(task: () => Promise<T>): Promise<T> {
    return task();
  }

  close(): void {}
}

class LockCoordinator implements Coordinator {
  readonly mode = "web-locks";
  readonly #options: CoordinatorOptions;
  readonly #locks: LockManagerLike;

  constructor(options: CoordinatorOptions, locks: LockManagerLike) {
    this.#options = options;
    this.#locks = locks;
  }

  exclusive<T>(task: () => Promise<T>, settled: () => boolean): Promise<ExclusiveResult<T>> {
    if (settled()) return Promise.resolve({ ran: false });
    const { lockName, watch, timeoutMs, handoffMs } = this.#options;
    return new Promise<ExclusiveResult<T>>((resolve, reject) => {
      const abort = new AbortController();
      let granted = false;
      let timedOut = false;
      const stopWatching = watch(() => {
        if (!granted && settled()) abort.abort();
      });
      // A lock held for too long (a hung request in another tab) must not hang this tab forever.
      const timer = setTimeout(() => {
        timedOut = true;
        abort.abort();
      }, timeoutMs);
      const finish = () => {
        stopWatching();
        clearTimeout(timer);
      };
      const run = async (holdingLock: boolean): Promise<void> => {
        let value: T;
        try {
          value = await task();
        } catch (error) {
          reject(error);
          return;
        }
        resolve({ ran: true, value });
        // Keep the lock while the result travels to the other tabs.
        if (holdingLock && handoffMs > 0) await sleep(handoffMs);
      };

      this.#locks
        .request(lockName, { mode: "exclusive", signal: abort.signal }, async () => {
          granted = true;
          finish();
          // Let a broadcast sent just before the lock was released be delivered first.
          await nextTask();
          if (settled()) {
            resolve({ ran: false });
            return;
          }
          await run(true);
        })
        .catch((error: unknown) => {
          finish();
          if (granted) return; // the task's own outcome was already reported
          if (!abort.signal.aborted) {
            reject(error);
          } else if (settled()) {
            resolve({ ran: false });
          } else if (timedOut) {
            void run(false);
          } else {
            reject(error);
          }
        });
    });
  }

  async serialize<T>(task: () => Promise<T>): Promise<T> {
    const abort = new AbortController();
    const timer = setTimeout(() => abort.abort(), this.#options.timeoutMs);
    let granted = false;
    try {
      return await this.#locks.request(
        this.#options.lockName,
        { mode: "exclusive", signal: abort.signal },
        () => {
          granted = true;
          clearTimeout(timer);
          return task();
        },
      );
    } catch (error) {
      if (!granted && abort.signal.aborted) return task();
      throw error;
    } finally {
      clearTimeout(timer);
    }
  }

  close(): void {}
}

class BroadcastCoordinator implements Coordinator {
  readonly mode = "broadcast";
  readonly #options: CoordinatorOptions;
  /** Live claims of other tabs: tab id → when claimed (their clock) and when heard (ours). */
  readonly #claims = new Map<string, { at: number; heard: number }>();
  readonly #wakers = new Set<() => void>();
  readonly #unsubscribe: Array<() => void>;

  constructor(options: CoordinatorOptions) {
    this.#options = options;
    this.#unsubscribe = [
      options.channel.subscribe((message) => this.#receive(message)),
      options.watch(() => this.#wake()),
    ];
  }

  async exclusive<T>(task: () => Promise<T>, settled: () => boolean): Promise<ExclusiveResult<T>> {
    const { channel, now, timeoutMs, claimSettleMs } = this.#options;
    if (settled()) return { ran: false };
    if (this.#livePeerClaim() !== null) {
      await this.#waitUntil(() => settled() || this.#livePeerClaim() === null, timeoutMs);
      if (settled()) return { ran: false };
    }
    const mine = { from: channel.tabId, at: now() };
    channel.post({ kind: "claim", at: mine.at });
    try {
      if (await this.#waitUntil(settled, claimSettleMs)) return { ran: false };
      const rival = this.#earliestPeerClaim();
      if (rival !== null && precedes(rival, mine)) {
        const rivalFrom = rival.from;
        await this.#waitUntil(() => settled() || !this.#claims.has(rivalFrom), timeoutMs);
        if (settled()) return { ran: false };
      }
      return { ran: true, value: await task() };
    } finally {
      channel.post({ kind: "release" });
    }
  }

  async serialize<T>(task: () => Promise<T>): Promise<T> {
    if (this.#livePeerClaim() !== null) {
      await this.#waitUntil(() => this.#livePeerClaim() === null, this.#options.timeoutMs);
    }
    return task();
  }

  close(): void {
    for (const unsubscribe of this.#unsubscribe) unsubscribe();
    this.#claims.clear();
    this.#wake();
  }

  #receive(message: TabMessage): void {
    if (message.kind === "claim") {
      this.#claims.set(message.from, { at: message.at, heard: this.#options.now() });
    } else {
      // A release, or a result (token / ended): that tab's refresh is over.
      this.#claims.delete(message.from);
    }
    this.#wake();
  }

  #livePeerClaim(): { from: string; at: number } | null {
    const now = this.#options.now();
    for (const [from, claim] of this.#claims) {
      if (now - claim.heard < this.#options.timeoutMs) return { from, at: claim.at };
      this.#claims.delete(from);
    }
    return null;
  }

  #earliestPeerClaim(): { from: string; at: number } | null {
    let earliest: { from: string; at: number } | null = null;
    for (const [from, claim] of this.#claims) {
      const candidate = { from, at: claim.at };
      if (earliest === null || precedes(candidate, earliest)) earliest = candidate;
    }
    return earliest;
  }

  /** Resolves true as soon as `condition()` holds (checked on every wake), false on timeout. */
  #waitUntil(condition: () => boolean, ms: number): Promise<boolean> {
    if (condition()) return Promise.resolve(true);
    return new Promise<boolean>((resolve) => {
      const done = (result: boolean) => {
        clearTimeout(timer);
        this.#wakers.delete(waker);
        resolve(result);
      };
      const waker = () => {
        if (condition()) done(true);
      };
      const timer = setTimeout(() => done(condition()), ms);
      this.#wakers.add(waker);
    });
  }

  #wake(): void {
    for (const waker of [...this.#wakers]) waker();
  }
}

/** Total order on claims: earlier first, then the smaller tab id. */
function precedes(a: { from: string; at: number }, b: { from: string; at: number }): boolean {
  return a.at < b.at || (a.at === b.at && a.from < b.from);
}

function nextTask(): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, 0));
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
