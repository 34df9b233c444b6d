export declare class SingleFlight<T> {
    #private;
    /** The promise in flight, if any. */
    get current(): Promise<T> | null;
    /** Starts `task` unless one is in flight, in which case its promise is returned instead. */
    run(task: () => Promise<T>): Promise<T>;
}
