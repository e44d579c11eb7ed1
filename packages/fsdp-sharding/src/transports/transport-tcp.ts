import { hostname } from "node:os";
import { DistributedError, PeerFailureError } from "../errors.js";
import { SECRET_VAR } from "../runtime/handshake.js";
import type { InitProcessGroupOptions } from "../runtime/init-process-group.js";
import type { ProcessGroup } from "../runtime/process-group.js";
import { type RankInfo, rankInfoFromEnv } from "../runtime/rank-env.js";
import { SoloGroup } from "../runtime/solo-group.js";
import { TcpStoreClient, TcpStoreServer } from "../runtime/tcp-store.js";
import { connectRing, PeerListener, RingChannel } from "./ring-channel.js";
import { DEFAULT_PIECE_ELEMS } from "./ring-collectives.js";
import { loadShmAddon, openSharedArena, SHM_VAR, sharedMemorySettings } from "./shared-arena.js";
import { JobContext, TcpProcessGroup } from "./tcp-process-group.js";

/** Address this rank listens on and advertises to peers; loopback unless set. "0.0.0.0" = all, advertise hostname. */
export const ADDR_VAR = "BIOMED_LLAMA_ADDR";

function ringOf(members: number[], rank: number): { next: number; prev: number } {
  const i = members.indexOf(rank);
  return {
    next: members[(i + 1) % members.length],
    prev: members[(i - 1 + members.length) % members.length],
  };
}

/**
 * The default transport ("tcp"): meets the other ranks at MASTER_ADDR:MASTER_PORT (rank 0 hosts the
 * store), and connects three rings — world, intra-node (same node) and inter-node (same local rank) — so
 * hybrid sharding's subgroups are ready. Rings whose ranks share a machine move their data through shared
 * memory where they can (`setUpSharedMemory`).
 */
export async function initTcpProcessGroup(
  env: Record<string, string | undefined>,
  opts: InitProcessGroupOptions,
): Promise<ProcessGroup> {
  const info: RankInfo = rankInfoFromEnv(env);
  if (info.worldSize === 1) return new SoloGroup(0, 0, 1, 0);
  const timeoutMs =
    opts.timeoutMs ?? (env.BIOMED_LLAMA_TIMEOUT_MS ? Number(env.BIOMED_LLAMA_TIMEOUT_MS) : 300_000);
  if (!(timeoutMs > 0))
    throw new DistributedError(
      `BIOMED_LLAMA_TIMEOUT_MS=${env.BIOMED_LLAMA_TIMEOUT_MS} is not a positive number`,
    );
  const secret = env[SECRET_VAR];
  if (!secret)
    throw new DistributedError(
      info.source === "slurm"
        ? `${SECRET_VAR} is not set: export it before srun / sbatch (srun passes the environment to every task), e.g. export ${SECRET_VAR}=$(od -An -N16 -tx1 /dev/urandom | tr -d ' \\n'); see examples/slurm/pretrain.sbatch`
        : `${SECRET_VAR} is not set: set the same secret on every rank (biomed-llama launch sets one for single-node jobs)`,
    );
  if (info.numNodes > 1 && !env[ADDR_VAR])
    throw new DistributedError(
      `${ADDR_VAR} is not set: with ${info.numNodes} nodes each rank must listen on an address the other nodes can reach (e.g. ${ADDR_VAR}=$(hostname -i)); listeners bind loopback otherwise`,
    );
  const bind = env[ADDR_VAR] || "127.0.0.1";
  const advertise = bind === "0.0.0.0" || bind === "::" ? hostname() : bind;
  const rendezvousMs = timeoutMs * 2;
  // Heartbeats feed the store's "who went silent" verdict; keep several per timeout.
  const heartbeatMs = Math.max(50, Math.min(1000, Math.floor(timeoutMs / 8)));
  const verdictWaitMs = Math.min(1000, Math.max(200, heartbeatMs * 2));

  let server: TcpStoreServer | null = null;
  if (info.rank === 0)
    server = await TcpStoreServer.listen({
      host: bind,
      port: info.masterPort,
      secret,
      handshakeTimeoutMs: rendezvousMs,
      heartbeatMs,
      worldSize: info.worldSize,
    });
  const store = await TcpStoreClient.connect({
    host: info.masterAddr,
    port: info.masterPort,
    secret,
    rank: info.rank,
    worldSize: info.worldSize,
    timeoutMs: rendezvousMs,
    heartbeatMs,
  });
  const job: JobContext = new JobContext(
    info,
    store,
    timeoutMs,
    verdictWaitMs,
    opts.pieceElems ?? DEFAULT_PIECE_ELEMS,
  );
  job.hostsStore = server !== null;
  const listener = await PeerListener.listen(bind, secret, rendezvousMs);
  await store.set(`addr/${info.rank}`, `${advertise}:${listener.port}`);

  const all = Array.from({ length: info.worldSize }, (_, r) => r);
  const specs: { name: string; members: number[] }[] = [
    { name: "world", members: all },
    {
      name: `intra-node${info.nodeRank}`,
      members: all.filter((r) => Math.floor(r / info.localWorldSize) === info.nodeRank),
    },
    {
      name: `inter-node${info.localRank}`,
      members: all.filter((r) => r % info.localWorldSize === info.localRank),
    },
  ];
  const groups: (TcpProcessGroup | SoloGroup)[] = [];
  const ringGroups: { key: string; group: TcpProcessGroup }[] = [];
  try {
    for (const spec of specs) {
      if (spec.members.length === 1) {
        groups.push(new SoloGroup(info.rank, info.localRank, info.localWorldSize, info.nodeRank));
        continue;
      }
      const { next, prev } = ringOf(spec.members, info.rank);
      const addr = await store.get(`addr/${next}`, rendezvousMs).catch(() => {
        throw new PeerFailureError(
          `rank ${next} did not join the rendezvous within ${rendezvousMs} ms (not started, or a different BIOMED_LLAMA_SECRET / MASTER_ADDR / MASTER_PORT?)`,
          next,
        );
      });
      const [host, port] = splitHostPort(addr);
      const [toNext, fromPrev] = await Promise.all([
        connectRing({
          host,
          port,
          secret,
          group: spec.name,
          from: info.rank,
          to: next,
          timeoutMs: rendezvousMs,
        }),
        listener.accept(spec.name, prev, rendezvousMs),
      ]);
      const channel = new RingChannel(spec.name, next, prev, toNext, fromPrev);
      channel.onPeerLost = (rank, err) => job.peerLost(channel, rank, err);
      job.channels.push(channel);
      const group = new TcpProcessGroup(job, spec.name.replace(/\d+$/, ""), spec.members, channel);
      groups.push(group);
      ringGroups.push({ key: spec.name, group });
    }
    await setUpSharedMemory(ringGroups, info.localWorldSize, store, env, opts, rendezvousMs);
  } catch (e) {
    listener.close();
    await store.close();
    await server?.close();
    throw e;
  }
  const world = groups[0] as TcpProcessGroup;
  world.subgroups.set("intra-node", groups[1]);
  world.subgroups.set("inter-node", groups[2]);
  if (job.aborted) job.abortAll(job.aborted);

  let tornDown: Promise<void> | null = null;
  job.teardown = () => {
    tornDown ??= (async () => {
      try {
        if (!job.aborted) {
          await world.barrier();
          // Past the last collective, a neighbour hanging up is expected, not a failure.
          for (const c of job.channels) c.closing = true;
          // Only once every rank is past its last collective may sockets close without alarming anyone.
          await store.set(`done/${info.rank}`, "1");
          await store.wait(
            all.map((r) => `done/${r}`),
            rendezvousMs,
          );
        }
      } finally {
        // After a failure nothing may wait on a peer or the store: a rank behind a cut link would
        // otherwise add a goodbye timeout (and rank 0 its wait for the others to hang up) to the
        // collective timeout that already decided the job's fate.
        const failed = job.aborted !== null || job.channels.some((c) => c.failed);
        for (const c of job.channels) c.close();
        listener.close();
        await (failed ? store.closeNow() : store.close());
        if (server) {
          const deadline = Date.now() + (failed ? 0 : Math.min(rendezvousMs, 10_000));
          while (server.openClients > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
          await server.close();
        }
      }
    })();
    return tornDown;
  };
  await world.barrier();
  return world;
}

/**
 * Gives every ring group whose members can all map one shared file a `SharedArena` (see
 * shared-arena.ts); the others keep moving data over TCP and record why in `sharedMemoryRefusal`.
 * Groups are visited in the same order on every rank, so the store exchanges cannot deadlock.
 */
async function setUpSharedMemory(
  ringGroups: { key: string; group: TcpProcessGroup }[],
  localWorldSize: number,
  store: TcpStoreClient,
  env: Record<string, string | undefined>,
  opts: InitProcessGroupOptions,
  timeoutMs: number,
): Promise<void> {
  const settings = sharedMemorySettings(
    opts.sharedMemory
      ? { ...env, [SHM_VAR]: { auto: "auto", off: "0", required: "1" }[opts.sharedMemory] }
      : env,
    opts.sharedMemoryRegionElems,
    opts.singleCopyMinBytes,
  );
  if (settings.mode === "off") {
    for (const { group } of ringGroups) group.sharedMemoryRefusal = `${SHM_VAR}=0`;
    return;
  }
  const { addon, reason } = await loadShmAddon();
  for (const { key, group } of ringGroups) {
    // The launcher's layout says which ranks form a node; a group that spans nodes talks over the
    // network even where its "nodes" happen to share a /dev/shm (containers or network namespaces on
    // one machine), so that what runs is what the user declared.
    const nodes = new Set(group.members.map((r) => Math.floor(r / localWorldSize)));
    if (nodes.size > 1) {
      group.sharedMemoryRefusal = `the group spans ${nodes.size} nodes`;
      continue;
    }
    const result = addon
      ? await openSharedArena({
          store,
          group: key,
          members: group.members,
          index: group.rank,
          addon,
          settings,
          timeoutMs,
        })
      : { arena: null, reason };
    if (result.arena) group.useSharedMemory(result.arena);
    else group.sharedMemoryRefusal = result.reason;
    if (settings.mode === "required" && key.startsWith("intra-node") && !result.arena)
      throw new DistributedError(
        `${SHM_VAR}=1 but the ranks of this node cannot share memory: ${result.reason}`,
      );
  }
}

function splitHostPort(s: string): [string, number] {
  const i = s.lastIndexOf(":");
  return [s.slice(0, i), Number(s.slice(i + 1))];
}
