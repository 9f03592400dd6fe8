import net from 'node:net';

export interface RawExchange {
  /** Everything the server wrote before closing (or before `waitMs` ran out). */
  response: string;
  /** Whether the server closed the connection within `waitMs`. */
  closed: boolean;
}

/**
 * Writes `head` (a request line and headers, as given) to a fresh TCP connection and then nothing more, the way a
 * client that announces a body and never sends it does; collects what the server answers within `waitMs`.
 */
export async function sendHeadOnly(baseUrl: string, head: string, waitMs: number): Promise<RawExchange> {
  const { hostname, port } = new URL(baseUrl);
  const socket = net.connect(Number(port), hostname);
  let response = '';
  socket.on('data', (chunk: Buffer) => (response += chunk.toString('latin1')));
  socket.on('error', () => undefined);
  await new Promise<void>((resolve) => socket.once('connect', resolve));
  socket.write(head);
  const closed = await new Promise<boolean>((resolve) => {
    const timer = setTimeout(() => resolve(false), waitMs);
    socket.once('close', () => {
      clearTimeout(timer);
      resolve(true);
    });
  });
  socket.destroy();
  return { response, closed };
}

/** Resolves with the response so far as soon as it contains `text`, or after `waitMs` (then the socket is closed). */
export async function sendHeadUntil(baseUrl: string, head: string, text: string, waitMs: number): Promise<string> {
  const { hostname, port } = new URL(baseUrl);
  const socket = net.connect(Number(port), hostname);
  let response = '';
  socket.on('error', () => undefined);
  await new Promise<void>((resolve) => socket.once('connect', resolve));
  socket.write(head);
  await new Promise<void>((resolve) => {
    const timer = setTimeout(resolve, waitMs);
    socket.on('data', (chunk: Buffer) => {
      response += chunk.toString('latin1');
      if (response.includes(text)) {
        clearTimeout(timer);
        resolve();
      }
    });
    socket.once('close', () => {
      clearTimeout(timer);
      resolve();
    });
  });
  socket.destroy();
  return response;
}
