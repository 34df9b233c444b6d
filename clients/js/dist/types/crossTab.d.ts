import type { TabChannel } from "./channel.js";
/** The minimum of the Web Locks `LockManager` this client uses. */
export interface LockManagerLike {
    request<T>(name: string, options: {
        mode?: "exclusive" | "shared";
        signal?: AbortSignal;
    }, callback: (lock: unknown) => Promise<T> | T): Promise<T>;
}
export type CoordinationMode = "web-locks" | "broadcast" | "local";
/** `ran: false` — the task was skipped because `settled()` became true while waiting. */
export type ExclusiveResult<T> = {
    ran: true;
    value: T;
} | {
    ran: false;
};
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
export declare function createCoordinator(options: CoordinatorOptions): Coordinator;
