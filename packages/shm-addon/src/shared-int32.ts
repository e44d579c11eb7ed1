import { loadShmBinding } from "./load-binding.js";

/**
 * Cross-process synchronisation on one int32 inside shared memory (`mapSharedFile`). JavaScript's
 * `Atomics.wait` cannot do this: it needs a SharedArrayBuffer and only wakes threads of its own process.
 * These are C11 sequentially consistent atomics and, on Linux, the futex syscall on the shared page.
 */
export class SharedInt32 {
  private readonly b = loadShmBinding();

  constructor(
    readonly buffer: ArrayBuffer,
    /** 4-aligned. */
    readonly byteOffset: number,
  ) {
    if (byteOffset % 4 !== 0 || byteOffset < 0 || byteOffset + 4 > buffer.byteLength)
      throw new RangeError(
        `SharedInt32: byteOffset ${byteOffset} is not a 4-aligned int32 inside the buffer`,
      );
  }

  load(): number {
    return this.b.atomicLoad(this.buffer, this.byteOffset);
  }
  store(value: number): void {
    this.b.atomicStore(this.buffer, this.byteOffset, value);
  }
  /** Adds `delta`; returns the value before. */
  add(delta: number): number {
    return this.b.atomicAdd(this.buffer, this.byteOffset, delta);
  }
  /**
   * Blocks this thread while the value equals `expected`, for at most `timeoutMicros`: polling for the
   * first `spinMicros` (default 0) with `sched_yield` between polls, then asleep in the kernel until
   * `wakeAll` or the timeout. True if the value changed, false on timeout. Keep the
   * timeout short on an event-loop thread and call again.
   */
  waitWhileEqual(expected: number, timeoutMicros: number, spinMicros = 0): boolean {
    return this.b.waitWhileEqual(this.buffer, this.byteOffset, expected, timeoutMicros, spinMicros) === 1;
  }
  /** Wakes every thread, in any process, blocked in `waitWhileEqual` on this int32. */
  wakeAll(): void {
    this.b.wakeAll(this.buffer, this.byteOffset);
  }
}
