// channel.ts — owns the BroadcastChannel between tabs of one origin: the message format, sending,
// and checking what arrives (any same-origin script can post on the channel, so nothing is
// trusted without a shape check). Tokens travel only here, in memory, never through storage.

import { isRecord } from "./errors.js";
import type { SessionState } from "./session.js";
import { type AccessToken, isAccessToken } from "./token.js";

/** The minimum of `BroadcastChannel` this client uses. */
export interface BroadcastChannelLike {
  postMessage(message: unknown): void;
  close(): void;
  onmessage: ((event: MessageEvent) => void) | null;
}

export type BroadcastChannelFactory = (name: string) => BroadcastChannelLike;

/** Messages between tabs. `from` is the sending tab's random id. */
export type TabMessage =
  /** A tab obtained a token (login or refresh); others adopt it if newer than theirs. */
  | { v: 1; kind: "token"; from: string; token: AccessToken }
  /** A tab learned the session ended; `at` is when the evidence began. */
  | { v: 1; kind: "ended"; from: string; state: Exclude<SessionState, "logged-in">; at: number }
  /** Fallback coordination (no Web Locks): a tab is about to refresh. */
  | { v: 1; kind: "claim"; from: string; at: number }
  /** Fallback coordination: the claiming tab is done (whatever the outcome). */
  | { v: 1; kind: "release"; from: string };

type Outgoing =
  | { kind: "token"; token: AccessToken }
  | { kind: "ended"; state: Exclude<SessionState, "logged-in">; at: number }
  | { kind: "claim"; at: number }
  | { kind: "release" };

export class TabChannel {
  readonly tabId: string;
  #channel: BroadcastChannelLike | null;
  #handlers = new Set<(message: TabMessage) => void>();

  constructor(factory: BroadcastChannelFactory | null, name: string) {
    this.tabId = randomId();
    this.#channel = null;
    if (factory === null) return;
    try {
      const channel = factory(name);
      channel.onmessage = (event) => this.#receive(event.data);
      this.#channel = channel;
    } catch {
      // Unavailable here (e.g. a sandboxed frame): run without cross-tab coordination.
    }
  }

  get available(): boolean {
    return this.#channel !== null;
  }

  post(message: Outgoing): void {
    if (this.#channel === null) return;
    try {
      this.#channel.postMessage({ v: 1, from: this.tabId, ...message });
    } catch {
      // A closed channel or an uncloneable value: other tabs simply fall back to refreshing.
    }
  }

  subscribe(handler: (message: TabMessage) => void): () => void {
    this.#handlers.add(handler);
    return () => {
      this.#handlers.delete(handler);
    };
  }

  close(): void {
    if (this.#channel === null) return;
    this.#channel.onmessage = null;
    this.#channel.close();
    this.#channel = null;
    this.#handlers.clear();
  }

  #receive(data: unknown): void {
    const message = parseMessage(data);
    if (message === null || message.from === this.tabId) return;
    for (const handler of [...this.#handlers]) handler(message);
  }
}

/** Returns the message if `data` is a well-formed TabMessage, else null. */
export function parseMessage(data: unknown): TabMessage | null {
  if (!isRecord(data) || data.v !== 1 || typeof data.from !== "string") return null;
  const from = data.from;
  switch (data.kind) {
    case "token":
      return isAccessToken(data.token)
        ? {
            v: 1,
            kind: "token",
            from,
            token: {
              value: data.token.value,
              issuedAt: data.token.issuedAt,
              expiresAt: data.token.expiresAt,
            },
          }
        : null;
    case "ended":
      return (data.state === "logged-out" || data.state === "revoked") && isTime(data.at)
        ? { v: 1, kind: "ended", from, state: data.state, at: data.at }
        : null;
    case "claim":
      return isTime(data.at) ? { v: 1, kind: "claim", from, at: data.at } : null;
    case "release":
      return { v: 1, kind: "release", from };
    default:
      return null;
  }
}

function isTime(value: unknown): value is number {
  return typeof value === "number" && Number.isFinite(value);
}

function randomId(): string {
  const crypto = globalThis.crypto;
  if (crypto !== undefined && typeof crypto.randomUUID === "function") return crypto.randomUUID();
  return `${Date.now().toString(36)}-${Math.random().toString(36).slice(2)}`;
}
