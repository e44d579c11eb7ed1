import { createHmac, randomBytes, timingSafeEqual } from "node:crypto";
import { AuthenticationError, DistributedError } from "../errors.js";
import { type FramedSocket, MAX_PAYLOAD_BYTES, parseJsonFrame } from "./framing.js";

/** The job's shared secret: every rank (and the store) proves it knows it before any data flows. */
export const SECRET_VAR = "BIOMED_LLAMA_SECRET";

/**
 * Mutual challenge/response over a fresh connection. The secret never crosses the wire: each side sends a
 * random nonce and proves knowledge of the secret with HMAC-SHA256 over both nonces (and the client's
 * hello, so a man in the middle cannot swap the identity it claims).
 */
function mac(secret: string, role: string, ...parts: string[]): Buffer {
  const h = createHmac("sha256", secret);
  h.update(role);
  for (const p of parts) h.update(`\0${p}`);
  return h.digest();
}

function equalMac(expected: Buffer, hex: unknown): boolean {
  if (typeof hex !== "string" || !/^[0-9a-f]{64}$/.test(hex)) return false;
  return timingSafeEqual(expected, Buffer.from(hex, "hex"));
}

function nextJson(fs: FramedSocket, timeoutMs: number, what: string): Promise<any> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      fs.close();
      reject(new AuthenticationError(`${what}: no answer within ${timeoutMs} ms`));
    }, timeoutMs);
    fs.onFrame = (f) => {
      clearTimeout(timer);
      fs.onFrame = null; // hold what follows for whoever takes the socket next
      try {
        resolve(parseJsonFrame(f));
      } catch (e) {
        reject(new AuthenticationError(`${what}: ${(e as Error).message}`));
      }
    };
    fs.onClose = (err) => {
      clearTimeout(timer);
      reject(
        new AuthenticationError(
          `${what}: connection closed during the handshake${err ? ` (${err.message})` : ""}`,
        ),
      );
    };
  });
}

/**
 * Listener side. Resolves with the authenticated client's hello; rejects (and closes) on a bad proof, or
 * when `admit` finds a reason to turn the authenticated client away (the client then fails with it).
 */
export async function acceptHandshake(
  fs: FramedSocket,
  secret: string,
  timeoutMs: number,
  admit: (hello: any) => string | null = () => null,
): Promise<any> {
  const serverNonce = randomBytes(32).toString("hex");
  await fs.sendJson({ challenge: serverNonce });
  const reply = await nextJson(fs, timeoutMs, "handshake");
  const hello = JSON.stringify(reply?.hello ?? null);
  if (
    typeof reply?.nonce !== "string" ||
    !equalMac(mac(secret, "client", serverNonce, reply.nonce, hello), reply.mac)
  ) {
    await fs.sendJson({ error: "authentication failed: wrong BIOMED_LLAMA_SECRET" }).catch(() => {});
    fs.close();
    throw new AuthenticationError(
      "a peer failed authentication (wrong BIOMED_LLAMA_SECRET); connection refused",
    );
  }
  const refusal = admit(reply.hello);
  if (refusal !== null) {
    await fs.sendJson({ refused: refusal }).catch(() => {});
    fs.close();
    throw new DistributedError(`refused a peer: ${refusal}`);
  }
  await fs.sendJson({ mac: mac(secret, "server", reply.nonce, serverNonce).toString("hex") });
  fs.maxPayloadBytes = MAX_PAYLOAD_BYTES;
  return reply.hello;
}

/** Connecting side: proves the secret, sends `hello`, and checks the listener's proof in turn. */
export async function offerHandshake(
  fs: FramedSocket,
  secret: string,
  hello: unknown,
  timeoutMs: number,
  peer: string,
) {
  const first = await nextJson(fs, timeoutMs, `handshake with ${peer}`);
  if (typeof first?.challenge !== "string") throw new AuthenticationError(`${peer} did not send a challenge`);
  const clientNonce = randomBytes(32).toString("hex");
  await fs.sendJson({
    nonce: clientNonce,
    hello,
    mac: mac(secret, "client", first.challenge, clientNonce, JSON.stringify(hello)).toString("hex"),
  });
  const answer = await nextJson(fs, timeoutMs, `handshake with ${peer}`);
  if (answer?.error) throw new AuthenticationError(`${peer} refused the connection: ${answer.error}`);
  if (typeof answer?.refused === "string")
    throw new DistributedError(`${peer} refused the connection: ${answer.refused}`);
  if (!equalMac(mac(secret, "server", clientNonce, first.challenge), answer?.mac)) {
    fs.close();
    throw new AuthenticationError(`${peer} could not prove the shared secret (wrong BIOMED_LLAMA_SECRET)`);
  }
  fs.maxPayloadBytes = MAX_PAYLOAD_BYTES;
}
