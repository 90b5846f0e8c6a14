import type { Server } from 'node:http';
import type { Socket } from 'node:net';
import type { Logger } from 'pino';

/** Limits of the HTTP listener's connections. */
export interface ConnectionLimits {
  /** Connections held at once; at the cap the oldest idle one is shed for a new one. */
  maxConnections: number;
  /**
   * A connection serving no request (it has sent nothing yet, or is idle between requests) is closed after this
   * long, ms. A connection serving a request (an SSE stream, a held rpc) is never closed by it.
   */
  idleTimeoutMs: number;
}

/** Time a client has to send a whole request head once it has started, ms (Node's `headersTimeout`). */
export const HEADERS_TIMEOUT_MS = 10_000;
/** Time a client has to send a whole request, body included, ms (Node's `requestTimeout`). */
export const REQUEST_TIMEOUT_MS = 30_000;
/** How often Node checks the two timeouts above, ms. */
const TIMEOUT_CHECK_MS = 1000;
/** Shortest gap between two log lines about the connection cap, ms. */
const CAP_LOG_INTERVAL_MS = 10_000;

/** Options for `http.createServer` that bound how slowly a request may arrive. */
export const requestTimeoutOptions = {
  headersTimeout: HEADERS_TIMEOUT_MS,
  requestTimeout: REQUEST_TIMEOUT_MS,
  connectionsCheckingInterval: TIMEOUT_CHECK_MS,
} as const;

/**
 * Accounts for the server's sockets: how many requests each is serving, and which are idle, oldest first. Idle
 * sockets are closed after `idleTimeoutMs`; at `maxConnections` a new socket sheds the oldest idle one (so that
 * a flood of sockets that send nothing cannot keep `/healthz` or anyone else out), and is refused only when every
 * socket is busy. Shutdown closes every socket that is not serving a request: Node's own `closeIdleConnections()`
 * skips sockets that never sent a request, such as the spare connection a fetch client opens.
 */
export function trackConnections(server: Server, limits: ConnectionLimits, logger?: Logger) {
  const inFlight = new Map<Socket, number>();
  /** Sockets serving no request, in the order they became idle. */
  const idle = new Set<Socket>();
  let shed = 0;
  let refused = 0;
  let lastCapLog = 0;

  const logCap = () => {
    const now = Date.now();
    if (!logger || now - lastCapLog < CAP_LOG_INTERVAL_MS) return;
    lastCapLog = now;
    logger.warn(
      { maxConnections: limits.maxConnections, open: inFlight.size, shedIdle: shed, refused },
      `connection cap of ${limits.maxConnections} reached: shedding the oldest idle connections`,
    );
  };

  const admit = (socket: Socket): boolean => {
    if (inFlight.size < limits.maxConnections) return true;
    const oldest = idle.values().next().value as Socket | undefined;
    if (oldest) {
      shed += 1;
      forget(oldest);
      oldest.destroy();
    } else {
      refused += 1;
      socket.destroy();
    }
    logCap();
    return oldest !== undefined;
  };

  const forget = (socket: Socket) => {
    inFlight.delete(socket);
    idle.delete(socket);
  };

  server.on('connection', (socket: Socket) => {
    if (!admit(socket)) return;
    inFlight.set(socket, 0);
    idle.add(socket);
    socket.setTimeout(limits.idleTimeoutMs);
    socket.once('close', () => forget(socket));
  });
  // With a listener here Node leaves timed-out sockets to us (it would otherwise destroy any, streams included).
  server.on('timeout', (socket: Socket) => {
    if ((inFlight.get(socket) ?? 0) === 0) socket.destroy();
  });
  server.on('request', (req, res) => {
    const socket = req.socket;
    inFlight.set(socket, (inFlight.get(socket) ?? 0) + 1);
    idle.delete(socket);
    res.once('close', () => {
      if (!inFlight.has(socket)) return;
      const left = (inFlight.get(socket) ?? 1) - 1;
      inFlight.set(socket, left);
      if (left > 0) return;
      idle.add(socket);
      // Node replaces the socket's timeout with keepAliveTimeout after a response; ours holds for idle sockets.
      socket.setTimeout(limits.idleTimeoutMs);
      // Once shutdown has begun, a socket is closed as soon as its last request is answered.
      if (!server.listening) socket.destroySoon();
    });
  });
  return {
    /** Closes every socket that is not serving a request; those that are close once answered. */
    closeIdle(): void {
      for (const socket of idle) socket.destroySoon();
    },
    /** Open sockets, and how many were shed or refused at the cap since start. */
    counts: () => ({ open: inFlight.size, idle: idle.size, shed, refused }),
  };
}
