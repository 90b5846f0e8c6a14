import net from 'node:net';

/**
 * A bare HTTP/1.1 GET on `/api/events` over a socket the test controls: for what `eventsource` hides (comments,
 * raw status lines) and for a reader that stops reading. `close()` destroys the socket.
 */
export function rawStream(url: string, token: string, options: { read?: boolean; lastEventId?: string } = {}) {
  const { hostname, port } = new URL(url);
  const socket = net.connect(Number(port), hostname);
  let text = '';
  socket.setEncoding('utf8');
  if (options.read === false) socket.pause();
  else socket.on('data', (chunk: string) => (text += chunk));
  const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
  socket.on('error', () => {});
  socket.write(
    `GET /api/events HTTP/1.1\r\nHost: ${hostname}:${port}\r\nAuthorization: Bearer ${token}\r\n` +
      (options.lastEventId ? `Last-Event-ID: ${options.lastEventId}\r\n` : '') +
      'Accept: text/event-stream\r\n\r\n',
  );
  return {
    socket,
    text: () => text,
    closed,
    close: () => socket.destroy(),
  };
}
