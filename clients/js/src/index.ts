// index.ts — the package's public surface: everything an application imports comes from here.

export { PortcullisClient } from "./client.js";
export type { PortcullisOptions, PortcullisEnvironment } from "./client.js";
export { PortcullisError } from "./errors.js";
export type { PortcullisErrorOptions } from "./errors.js";
export type { SessionInfo, SessionState } from "./session.js";
export type { StorageLike } from "./signedOut.js";
export type { BroadcastChannelLike, BroadcastChannelFactory } from "./channel.js";
export type { LockManagerLike, CoordinationMode } from "./crossTab.js";
