import type { Server } from 'node:http';
import type { Socket } from 'node:net';

/**
 * Tracks the server's sockets and how many requests each is serving, so that shutdown can close every socket
 * that is not serving one. Node's own `closeIdleConnections()` skips sockets that never sent a request — such as
 * the spare connection a fetch client opens after an aborted stream — and shutdown would wait on them.
 */
export function trackConnections(server: Server) {
  const inFlight = new Map<Socket, number>();
  server.on('connection', (socket: Socket) => {
    inFlight.set(socket, 0);
    socket.once('close', () => inFlight.delete(socket));
  });
  server.on('request', (req, res) => {
    const socket = req.socket;
    inFlight.set(socket, (inFlight.get(socket) ?? 0) + 1);
    res.once('close', () => {
      const left = (inFlight.get(socket) ?? 1) - 1;
      if (inFlight.has(socket)) inFlight.set(socket, left);
      // Once shutdown has begun, a socket is closed as soon as its last request is answered.
      if (left === 0 && !server.listening) socket.destroySoon();
    });
  });
  return {
    /** Closes every socket that is not serving a request; those that are close once answered. */
    closeIdle(): void {
      for (const [socket, requests] of inFlight) if (requests === 0) socket.destroySoon();
    },
  };
}
