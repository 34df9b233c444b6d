import type { SessionState } from "./session.js";
import { type AccessToken } from "./token.js";
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
{
    v: 1;
    kind: "token";
    from: string;
    token: AccessToken;
}
/** A tab learned the session ended; `at` is when the evidence began. */
 | {
    v: 1;
    kind: "ended";
    from: string;
    state: Exclude<SessionState, "logged-in">;
    at: number;
}
/** Fallback coordination (no Web Locks): a tab is about to refresh. */
 | {
    v: 1;
    kind: "claim";
    from: string;
    at: number;
}
/** Fallback coordination: the claiming tab is done (whatever the outcome). */
 | {
    v: 1;
    kind: "release";
    from: string;
};
type Outgoing = {
    kind: "token";
    token: AccessToken;
} | {
    kind: "ended";
    state: Exclude<SessionState, "logged-in">;
    at: number;
} | {
    kind: "claim";
    at: number;
} | {
    kind: "release";
};
export declare class TabChannel {
    #private;
    readonly tabId: string;
    constructor(factory: BroadcastChannelFactory | null, name: string);
    get available(): boolean;
    post(message: Outgoing): void;
    subscribe(handler: (message: TabMessage) => void): () => void;
    close(): void;
}
/** Returns the message if `data` is a well-formed TabMessage, else null. */
export declare function parseMessage(data: unknown): TabMessage | null;
export {};
