/** The part of `Storage` the marker uses. */
export interface StorageLike {
    getItem(key: string): string | null;
    setItem(key: string, value: string): void;
    removeItem(key: string): void;
}
export declare class SignedOutMarker {
    #private;
    constructor(storage: StorageLike | null, key: string);
    /** True only when this browser recorded the end of its session and nothing since. */
    get isSet(): boolean;
    /** The session ended here: the refresh cookie is gone, or was given up. */
    set(): void;
    /** The gateway just issued a refresh cookie: a session exists. */
    clear(): void;
}
/**
 * The page's `localStorage`, when the gateway is on the page's own origin; otherwise null.
 *
 * With another origin, sessions can begin in pages this storage never sees (another app of the
 * same gateway), so a stale marker would hide a live session; apps that know better pass their
 * storage explicitly. `localStorage` is shared by the origin's tabs and outlives the tab, as the
 * cookie does. Reading it can throw (storage disabled), which means: no marker.
 */
export declare function defaultMarkerStorage(baseUrl: string): StorageLike | null;
