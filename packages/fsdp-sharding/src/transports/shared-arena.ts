import { randomBytes } from "node:crypto";
import { existsSync, unlinkSync } from "node:fs";
import { hostname, tmpdir } from "node:os";
import { join } from "node:path";
import { DistributedError } from "../errors.js";
import type { TcpStoreClient } from "../runtime/tcp-store.js";

/** "auto" (default: shared memory where every member of a group can map the same file), "0" off, "1" required. */
export const SHM_VAR = "BIOMED_LLAMA_SHM";
/** Per-rank staging region, MiB (default 16); collectives on bigger buffers run in chunks of this size. */
export const SHM_MB_VAR = "BIOMED_LLAMA_SHM_MB";
/** Where the shared file is made: default /dev/shm, else the OS temp dir. Must be a local (tmpfs) directory. */
export const SHM_DIR_VAR = "BIOMED_LLAMA_SHM_DIR";
/**
 * "auto" (default): where the kernel lets ranks read each other's memory (process_vm_readv), collectives
 * copy once, straight between the ranks' own buffers; "0": always stage through the shared regions.
 */
export const SHM_SINGLE_COPY_VAR = "BIOMED_LLAMA_SHM_SINGLE_COPY";
export const SHM_ADDON_PACKAGE = "@biomed-llama/shm-addon";
export const DEFAULT_SHM_REGION_ELEMS = (16 << 20) / 4;
/** The smallest region member 0 falls back to when /dev/shm is short of space (256 KiB). */
const MIN_REGION_ELEMS = (256 << 10) / 4;
/**
 * Below this many bytes a collective stages through the regions even when single-copy is possible: it
 * needs one barrier fewer. Measured with both paths interleaved in one job (blocks of 15 calls, 6
 * blocks each, median bus GB/s single-copy vs staged, 2026-11-27 02:59): 256 KiB — 2 ranks all-reduce
 * 1.11 vs 2.60, 4 ranks 0.33 vs 0.79; 1 MiB — 2 ranks 1.40 vs 1.78 (reduce-scatter 1.54 vs 1.87),
 * 4 ranks 0.97 vs 0.98 (0.75 vs 0.51); 2 MiB — 2 ranks 1.72 vs 1.74 (1.75 vs 1.12), 4 ranks 1.07 vs
 * 0.82 (1.37 vs 0.80). So staging below 2 MiB, single-copy from there.
 */
export const DEFAULT_SINGLE_COPY_MIN_BYTES = 2 << 20;

/** The part of `@biomed-llama/shm-addon` used here, declared structurally: the addon is optional. */
export interface ShmAddonModule {
  mapSharedFile(path: string, bytes: number, opts: { create: boolean }): ArrayBuffer;
  SharedInt32: new (buffer: ArrayBuffer, byteOffset: number) => SharedInt32Like;
  addressOf(view: ArrayBufferView | ArrayBuffer): bigint;
  readRemote(pid: number, address: bigint | number, dst: ArrayBufferView): void;
  reduceRemote(dst: Float32Array, pids: Int32Array, addresses: BigUint64Array, op?: "sum" | "max"): void;
}

export interface SharedInt32Like {
  load(): number;
  store(value: number): void;
  add(delta: number): number;
  waitWhileEqual(expected: number, timeoutMicros: number, spinMicros?: number): boolean;
  wakeAll(): void;
}

/**
 * Header, in bytes: 0–7 the set-up tag, 64 the barrier's arrival count, 128 its generation (own cache
 * lines: every rank writes the count, waiters poll the generation), from 192 what each member posted
 * at the barrier (CHECK_WORDS float64s, for each of two barrier parities). Then the regions.
 */
const COUNT_BYTE = 64;
const GENERATION_BYTE = 128;
const CHECKS_BYTE = 192;
/** Posted at each barrier: op code, sequence number, buffer length, and an address (single-copy path). */
export const CHECK_WORDS = 4;
const headerElems = (size: number) => Math.ceil((CHECKS_BYTE + 2 * size * CHECK_WORDS * 8) / 64) * 16;
/** How long one blocking wait may hold the event loop before yielding to it (socket errors, timeouts). */
const WAIT_SLICE_MICROS = 2000;
/**
 * How long a barrier polls (yielding the core between polls) before sleeping on the futex. Yielding
 * rather than busy-waiting also serves groups larger than the core count, where the rank being waited
 * for may need this very core: measured in a loop of barriers, 4 ranks on 2 cores took 150 µs per
 * barrier when only groups that fit the cores polled, 106 µs polling always; 2 ranks take 19–21 µs.
 */
const SPIN_MICROS = 50;

/**
 * Memory every member of a group maps: two sets of one staging region per member, used alternately by
 * consecutive chunks of the group's collectives (a chunk's readers are done with a set before the chunk
 * after next, past one more barrier, writes it again). Member `q` only writes its own region of a set.
 */
export class SharedArena {
  private phase = 0;
  private barriers = 0;
  private readonly count: SharedInt32Like;
  private readonly generation: SharedInt32Like;
  private readonly checks: Float64Array;
  private readonly header: number;
  private readonly spinMicros: number;

  /**
   * Set when every member may read every other's memory directly (process_vm_readv): their pids, in
   * member order, and the addon's single-copy calls. Collectives then skip the staging regions.
   */
  remote: { pids: Int32Array; addon: ShmAddonModule } | null = null;
  /** Collectives on fewer bytes than this stage even when `remote` is set. */
  singleCopyMinBytes = DEFAULT_SINGLE_COPY_MIN_BYTES;

  constructor(
    private readonly memory: Float32Array,
    addon: ShmAddonModule,
    readonly size: number,
    /** This process's member index. */
    readonly index: number,
    /** Floats per region: the largest chunk one rank stages at a time. */
    readonly regionElems: number,
  ) {
    const buffer = memory.buffer as ArrayBuffer;
    this.count = new addon.SharedInt32(buffer, COUNT_BYTE);
    this.generation = new addon.SharedInt32(buffer, GENERATION_BYTE);
    this.checks = new Float64Array(buffer, CHECKS_BYTE, 2 * size * CHECK_WORDS);
    this.header = headerElems(size);
    this.spinMicros = SPIN_MICROS;
  }

  /** Whether a collective moving `bytes` (its full buffer) goes single-copy. Same answer on every member. */
  singleCopy(bytes: number): boolean {
    return this.remote !== null && bytes >= this.singleCopyMinBytes;
  }

  /** The set the next chunk uses. Every member calls this for every chunk, so they agree on it. */
  nextSet(): number {
    return this.phase++ & 1;
  }

  region(set: number, member: number): Float32Array {
    const start = this.header + (set * this.size + member) * this.regionElems;
    return this.memory.subarray(start, start + this.regionElems);
  }

  static bytesFor(size: number, regionElems: number): number {
    return (headerElems(size) + 2 * size * regionElems) * 4;
  }

  /**
   * Returns once every member has arrived (a counter and a generation, futex-woken: no socket involved),
   * with what each member posted (`check`: CHECK_WORDS numbers, e.g. op, sequence, length) for the caller
   * to compare. While waiting the event loop gets a turn every few ms, and `failed()` is consulted, so a
   * dead peer or the collective's timeout (both noticed on the TCP ring) ends the wait.
   */
  async barrier(check: readonly number[], failed: () => Error | null): Promise<Float64Array[]> {
    const parity = this.barriers++ & 1;
    const slot = (q: number) => (parity * this.size + q) * CHECK_WORDS;
    this.checks.set(check, slot(this.index));
    const gen = this.generation.load();
    if (this.count.add(1) === this.size - 1) {
      this.count.store(0);
      this.generation.add(1);
      this.generation.wakeAll();
    } else
      while (!this.generation.waitWhileEqual(gen, WAIT_SLICE_MICROS, this.spinMicros)) {
        await new Promise((r) => setImmediate(r));
        const err = failed();
        if (err) throw err;
      }
    return Array.from({ length: this.size }, (_, q) => this.checks.slice(slot(q), slot(q) + CHECK_WORDS));
  }
}

export interface SharedMemorySettings {
  mode: "auto" | "off" | "required";
  regionElems: number;
  singleCopy: boolean;
  singleCopyMinBytes: number;
  dir: string;
}

/** Reads BIOMED_LLAMA_SHM / _SHM_MB / _SHM_DIR; a bad value is a one-line error naming the variable. */
export function sharedMemorySettings(
  env: Record<string, string | undefined>,
  regionElems?: number,
  singleCopyMinBytes = DEFAULT_SINGLE_COPY_MIN_BYTES,
): SharedMemorySettings {
  const raw = (env[SHM_VAR] ?? "auto").toLowerCase();
  const mode =
    raw === "auto" || raw === ""
      ? "auto"
      : raw === "0" || raw === "off"
        ? "off"
        : raw === "1" || raw === "on"
          ? "required"
          : null;
  if (!mode) throw new DistributedError(`${SHM_VAR}=${env[SHM_VAR]} is not "auto", "0"/"off" or "1"/"on"`);
  let elems = regionElems;
  if (elems === undefined && env[SHM_MB_VAR]) {
    const mb = Number(env[SHM_MB_VAR]);
    if (!(mb > 0)) throw new DistributedError(`${SHM_MB_VAR}=${env[SHM_MB_VAR]} is not a positive number`);
    elems = Math.floor((mb * 2 ** 20) / 4);
  }
  elems ??= DEFAULT_SHM_REGION_ELEMS;
  if (!Number.isInteger(elems) || elems < 64)
    throw new DistributedError(`shared-memory region of ${elems} floats is too small (at least 64)`);
  const dir = env[SHM_DIR_VAR] || (existsSync("/dev/shm") ? "/dev/shm" : tmpdir());
  const single = (env[SHM_SINGLE_COPY_VAR] ?? "auto").toLowerCase();
  if (!["auto", "", "0", "off", "1", "on"].includes(single))
    throw new DistributedError(`${SHM_SINGLE_COPY_VAR}=${env[SHM_SINGLE_COPY_VAR]} is not "auto" or "0"`);
  return {
    mode,
    regionElems: elems,
    dir,
    singleCopy: single !== "0" && single !== "off",
    singleCopyMinBytes,
  };
}

/** Imports the optional addon; null (with the reason) when it is not installed or not built. */
export async function loadShmAddon(
  specifier: string = SHM_ADDON_PACKAGE,
): Promise<{ addon: ShmAddonModule | null; reason: string }> {
  try {
    // A variable specifier keeps bundlers from resolving the optional package at build time.
    const mod = (await import(specifier)) as ShmAddonModule & { isShmAddonBuilt?: () => boolean };
    if (typeof mod.mapSharedFile !== "function" || typeof mod.SharedInt32 !== "function")
      return { addon: null, reason: `${specifier} does not export mapSharedFile and SharedInt32` };
    if (mod.isShmAddonBuilt && !mod.isShmAddonBuilt())
      return { addon: null, reason: `${specifier} is installed but its native addon is not built` };
    return { addon: mod, reason: "" };
  } catch (e) {
    return {
      addon: null,
      reason: `${specifier} could not be loaded (${String((e as Error).message).split("\n")[0]})`,
    };
  }
}

/**
 * Finds out whether all members of a group share memory, and if so maps the arena on each of them.
 * Member 0 creates a file under `dir`, writes a random tag into it and publishes its path in the store;
 * the others map it and check the tag (another machine, or a container with its own /dev/shm, cannot)
 * and the host name; everyone publishes its verdict, and the arena is used only if all say yes — so
 * every member takes the same path. Member 0 unlinks the file once all have answered: the mappings stay,
 * and nothing is left behind however the job ends later. Returns the arena, or null with the reason.
 */
export async function openSharedArena(opts: {
  store: TcpStoreClient;
  group: string;
  members: readonly number[];
  /** This process's index in `members`. */
  index: number;
  addon: ShmAddonModule;
  settings: SharedMemorySettings;
  timeoutMs: number;
}): Promise<{ arena: SharedArena | null; reason: string }> {
  const { store, group, members, index, addon, settings, timeoutMs } = opts;
  const size = members.length;
  const key = (what: string) => `shm/${group}/${what}`;
  /** Chosen by member 0 (smaller than asked if /dev/shm cannot hold the full size) and published. */
  let regionElems = settings.regionElems;
  let memory: Float32Array | null = null;
  let mine = "";
  let path = "";
  try {
    if (index === 0) {
      const tag = randomBytes(8);
      path = join(settings.dir, `biomed-llama-${group}-${process.pid}-${tag.toString("hex")}`);
      // A small /dev/shm (Docker's default is 64 MiB) gets smaller regions — halved down to 256 KiB — rather
      // than no shared memory at all; bigger collectives just take more chunks.
      for (;;) {
        try {
          memory = new Float32Array(
            addon.mapSharedFile(path, SharedArena.bytesFor(size, regionElems), { create: true }),
          );
          new Uint8Array(memory.buffer, 0, 8).set(tag);
          mine = "ok";
          break;
        } catch (e) {
          const err = e as Error & { code?: string };
          if (err.code === "ERR_SHM_NOSPACE" && regionElems > MIN_REGION_ELEMS) {
            regionElems = Math.max(MIN_REGION_ELEMS, regionElems >> 1);
            continue;
          }
          mine = `member 0 could not create ${path}: ${String(err.message).split("\n")[0]}`;
          path = "";
          break;
        }
      }
      await store.set(
        key("file"),
        JSON.stringify({ path, tag: tag.toString("hex"), host: hostname(), regionElems }),
      );
    } else {
      const file = JSON.parse(await store.get(key("file"), timeoutMs)) as {
        path: string;
        tag: string;
        host: string;
        regionElems: number;
      };
      regionElems = file.regionElems;
      if (!file.path) mine = "member 0 could not create the shared file";
      else if (file.host !== hostname())
        mine = `member ${index} is on ${hostname()}, member 0 on ${file.host}`;
      else
        try {
          memory = new Float32Array(
            addon.mapSharedFile(file.path, SharedArena.bytesFor(size, regionElems), { create: false }),
          );
          const seen = Buffer.from(memory.buffer, 0, 8).toString("hex");
          mine =
            seen === file.tag
              ? "ok"
              : `member ${index} maps ${file.path} but sees other contents (another machine?)`;
        } catch (e) {
          mine = `member ${index} cannot map ${file.path}: ${String((e as Error).message).split("\n")[0]}`;
        }
    }
    await store.set(key(`verdict/${index}`), mine);
    const verdicts = await Promise.all(members.map((_, q) => store.get(key(`verdict/${q}`), timeoutMs)));
    const refusal = verdicts.find((v) => v !== "ok");
    if (refusal !== undefined || !memory) return { arena: null, reason: refusal ?? mine };
    const arena = new SharedArena(memory, addon, size, index, regionElems);
    if (settings.singleCopy) {
      const pids = await probeSingleCopy(store, key, members.length, index, memory, addon, timeoutMs);
      if (pids) {
        arena.remote = { pids, addon };
        arena.singleCopyMinBytes = settings.singleCopyMinBytes;
      }
    }
    return { arena, reason: "" };
  } finally {
    if (path)
      try {
        unlinkSync(path);
      } catch {
        // Already gone: nothing to clean.
      }
  }
}

/**
 * Whether every member can read every other member's memory (cross-memory attach: same user, and no
 * Yama ptrace restriction). Each member publishes its pid and where it mapped the arena, reads the
 * arena's tag through every other member's mapping, and reports; all must succeed. Returns the pids in
 * member order, or null (the staging regions are then used).
 */
async function probeSingleCopy(
  store: TcpStoreClient,
  key: (what: string) => string,
  size: number,
  index: number,
  memory: Float32Array,
  addon: ShmAddonModule,
  timeoutMs: number,
): Promise<Int32Array | null> {
  if (typeof addon.readRemote !== "function" || typeof addon.reduceRemote !== "function") return null;
  await store.set(key(`pid/${index}`), `${process.pid} ${addon.addressOf(memory)}`);
  const peers = await Promise.all(
    Array.from({ length: size }, (_, q) => store.get(key(`pid/${q}`), timeoutMs)),
  );
  const tag = Buffer.from(memory.buffer, memory.byteOffset, 8).toString("hex");
  let verdict = "ok";
  for (let q = 0; q < size && verdict === "ok"; q++) {
    if (q === index) continue;
    const [pid, address] = peers[q].split(" ");
    const seen = new Uint8Array(8);
    try {
      addon.readRemote(Number(pid), BigInt(address), seen);
      if (Buffer.from(seen).toString("hex") !== tag) verdict = `member ${q}'s memory reads differently`;
    } catch (e) {
      verdict = String((e as Error).message).split("\n")[0];
    }
  }
  await store.set(key(`single-copy/${index}`), verdict);
  const verdicts = await Promise.all(
    Array.from({ length: size }, (_, q) => store.get(key(`single-copy/${q}`), timeoutMs)),
  );
  if (verdicts.some((v) => v !== "ok")) return null;
  return Int32Array.from(peers, (s) => Number(s.split(" ")[0]));
}
