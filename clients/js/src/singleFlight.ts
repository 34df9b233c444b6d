// singleFlight.ts — owns within-tab de-duplication: concurrent callers of `run` share the one
// promise already in flight instead of starting the same work again.

export class SingleFlight<T> {
  #current: Promise<T> | null = null;

  /** The promise in flight, if any. */
  get current(): Promise<T> | null {
    return this.#current;
  }

  /** Starts `task` unless one is in flight, in which case its promise is returned instead. */
  run(task: () => Promise<T>): Promise<T> {
    if (this.#current !== null) return this.#current;
    const flight: Promise<T> = Promise.resolve()
      .then(task)
      .finally(() => {
        if (this.#current === flight) this.#current = null;
      });
    this.#current = flight;
    return flight;
  }
}
