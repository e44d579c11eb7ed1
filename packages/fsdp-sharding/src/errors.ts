/** Base class so callers can catch everything this package throws with one `instanceof`. */
export class DistributedError extends Error {
  constructor(message: string) {
    super(message);
    this.name = new.target.name;
  }
}

/** A launcher variable is missing, malformed or contradicts another one. The message names the variable. */
export class RankEnvError extends DistributedError {}

/** A peer failed the shared-secret challenge (or we failed theirs). */
export class AuthenticationError extends DistributedError {}

/** A peer closed its socket, errored, or the job was aborted because of one. `rank` is the culprit. */
export class PeerFailureError extends DistributedError {
  constructor(
    message: string,
    readonly rank: number,
  ) {
    super(message);
  }
}

/** A collective did not complete within its timeout; `rank` is the peer we were waiting on. */
export class CollectiveTimeoutError extends PeerFailureError {}

/** Ranks issued different collectives (or different sizes) at the same point in their sequence. */
export class CollectiveMismatchError extends DistributedError {}

/** Bad arguments to a collective or to the sharding API (wrong lengths, unknown names, ...). */
export class ShardingError extends DistributedError {}
