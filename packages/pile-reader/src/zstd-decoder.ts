import type { RestartPoint } from "./line-source.js";

/** What the chunk decoder needs; plain data so it can be posted to a worker thread. */
export interface ZstdDecoderInit {
  file: string;
  start: RestartPoint;
  windowLogMax: number;
}

export type DecodedChunk =
  | { type: "data"; length: number; consumed: number; restarts: RestartPoint[] }
  | { type: "error"; offset: number; reason: string }
  | { type: "end"; consumed: number; restarts: RestartPoint[] };

/**
 * Decodes a `.zst` file chunk by chunk with libzstd's streaming decoder, tracking the compressed
 * bytes consumed and the frame ends (restart points) as it goes. Runs on the reader's thread or,
 * shipped as source text (Function.prototype.toString), in a worker thread — so it uses nothing
 * but its parameters. `next(out)` fills `out` (a reused buffer, so no allocation per chunk) as far
 * as the stream allows; `close()` releases the file.
 */
export function createZstdChunkDecoder(
  deps: { zstd: any; fs: any },
  init: ZstdDecoderInit,
): { next(out: Uint8Array): DecodedChunk; close(): void } {
  const { zstd, fs } = deps;
  const fd = fs.openSync(init.file, "r");
  const input = Buffer.allocUnsafe(1 << 20);
  let inStart = 0;
  let inEnd = 0;
  let filePos = init.start.compressed;
  let eof = false;
  let consumed = init.start.compressed;
  let uncompressed = init.start.uncompressed;
  let inFrame = false;
  let frameStart = consumed;
  let finished = false;
  const dctx = new zstd.DCtx();
  dctx.setParameter(zstd.DParameter.windowLogMax, init.windowLogMax);

  const next = (out: Uint8Array): DecodedChunk => {
    if (finished) return { type: "end", consumed, restarts: [] };
    let outLen = 0;
    const restarts: RestartPoint[] = [];
    while (outLen < out.length) {
      if (inStart === inEnd && !eof) {
        const n = fs.readSync(fd, input, 0, input.length, filePos);
        filePos += n;
        inStart = 0;
        inEnd = n;
        if (n === 0) eof = true;
      }
      if (inStart === inEnd && eof && !inFrame) {
        finished = true;
        break;
      }
      let result: [number, number, number];
      try {
        result = dctx.decompressStream(out.subarray(outLen), input.subarray(inStart, inEnd));
      } catch (err) {
        finished = true;
        return { type: "error", offset: consumed, reason: `stream is corrupt (${(err as Error).message})` };
      }
      const [hint, produced, used] = result;
      inStart += used;
      consumed += used;
      outLen += produced;
      uncompressed += produced;
      if (used > 0 && !inFrame) {
        inFrame = true;
        frameStart = consumed - used;
      }
      if (hint === 0 && inFrame) {
        inFrame = false;
        restarts.push({ compressed: consumed, uncompressed });
      }
      if (produced === 0 && used === 0 && inStart === inEnd && eof) {
        finished = true;
        return {
          type: "error",
          offset: consumed,
          reason: `stream is truncated: the frame starting at byte ${frameStart} ends early`,
        };
      }
    }
    if (outLen === 0) return { type: "end", consumed, restarts };
    return { type: "data", length: outLen, consumed, restarts };
  };

  return {
    next,
    close() {
      fs.closeSync(fd);
    },
  };
}
