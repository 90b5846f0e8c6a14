import net from 'node:net';
import type { AddressInfo } from 'node:net';

/**
 * A TCP proxy in front of a hub on port 0, to cut connections as a network would: `cut()` resets every open
 * connection, `refuse(true)` resets new ones as they come (the network is down), `retarget(url)` sends new
 * connections to another hub (a restarted one). `close()` ends it all.
 */
export async function startProxy(targetUrl: string) {
  let target = new URL(targetUrl);
  let refusing = false;
  const sockets = new Set<net.Socket>();
  const track = (socket: net.Socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => socket.destroy());
  };
  let connections = 0;
  const server = net.createServer((client) => {
    connections += 1;
    if (refusing) {
      client.on('error', () => undefined);
      client.resetAndDestroy();
      return;
    }
    const upstream = net.connect(Number(target.port), target.hostname);
    track(client);
    track(upstream);
    client.pipe(upstream);
    upstream.pipe(client);
    client.on('close', () => upstream.destroy());
    upstream.on('close', () => client.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    /** Connections accepted so far. */
    connections: () => connections,
    /** Open client-side connections. */
    open: () => sockets.size / 2,
    refuse(on: boolean) {
      refusing = on;
    },
    retarget(url: string) {
      target = new URL(url);
    },
    cut() {
      for (const socket of sockets) socket.resetAndDestroy();
    },
    async close() {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

export type Proxy = Awaited<ReturnType<typeof startProxy>>;
