/**
 * The HTTP side every baseline shares, so the load generator drives all of them exactly as it
 * drives our server: `POST /live/sessions/{id}/comments {message}` builds the same comment event
 * our server sends and hands it to the baseline's broadcast; `GET /live/sessions/active` answers
 * a prebuilt body of 50 sessions and `GET /me` a prebuilt user (the floor for REST: Node's http
 * with no work at all).
 */
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';

export interface CommentEvent {
  type: 'comment';
  id: string;
  session_id: string;
  user_id: string;
  user_name: string;
  message: string;
  ts: string;
}

const COMMENTS_PATH = /^\/live\/sessions\/([^/]+)\/comments$/;

/** A session object shaped like ours, so the REST floor serves the same bytes. */
function fakeSession(index: number) {
  return {
    session_id: randomUUID(),
    title: `Live ${index}`,
    vendor: { id: randomUUID(), name: `vendor-${index}` },
    is_live: true,
    started_at: new Date().toISOString(),
    ended_at: null,
    viewer_count: 0,
    views_total: 0,
    live_duration_seconds: 0,
  };
}

export function createBaselineServer(broadcast: (comment: CommentEvent) => void): Server {
  const active = Buffer.from(
    JSON.stringify({ items: Array.from({ length: 50 }, (_, i) => fakeSession(i)), next_cursor: null }),
  );
  const userId = randomUUID();
  const me = Buffer.from(
    JSON.stringify({
      id: userId,
      email: 'floor@example.com',
      name: 'floor',
      role: 'user',
      created_at: new Date().toISOString(),
    }),
  );
  return createServer((req, res) => {
    const match = req.method === 'POST' ? COMMENTS_PATH.exec(req.url ?? '') : null;
    if (match) return void postComment(req, res, match[1]!, userId, broadcast);
    if (req.method === 'GET' && req.url?.startsWith('/live/sessions/active')) {
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': active.length });
      return void res.end(active);
    }
    if (req.url === '/health') return void res.end('{"status":"ok"}');
    if (req.method === 'GET' && req.url === '/me') {
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': me.length });
      return void res.end(me);
    }
    // Socket.IO answers its own path through its own listener; everything else is unknown.
    if (!req.url?.startsWith('/socket.io/')) {
      res.statusCode = 404;
      res.end();
    }
  });
}

function postComment(
  req: IncomingMessage,
  res: ServerResponse,
  sessionId: string,
  userId: string,
  broadcast: (comment: CommentEvent) => void,
) {
  const chunks: Buffer[] = [];
  req.on('data', (chunk: Buffer) => chunks.push(chunk));
  req.on('end', () => {
    let message: unknown;
    try {
      message = (JSON.parse(Buffer.concat(chunks).toString()) as { message?: unknown }).message;
    } catch {
      message = undefined;
    }
    if (typeof message !== 'string' || !message.trim()) {
      res.statusCode = 422;
      return void res.end('{"detail":"message required"}');
    }
    const comment: CommentEvent = {
      type: 'comment',
      id: randomUUID(),
      session_id: sessionId,
      user_id: userId,
      user_name: 'poster',
      message: message.trim(),
      ts: new Date().toISOString(),
    };
    broadcast(comment);
    const { type: _type, ...body } = comment;
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify(body));
  });
}

/** Listens on PORT/HOST with our server's accept backlog (src/main.ts), and closes on SIGTERM. */
export function listen(server: Server, onClose: () => void = () => {}): void {
  server.listen({
    port: Number(process.env.PORT ?? 0),
    host: process.env.HOST ?? '127.0.0.1',
    backlog: 4096,
  });
  process.once('SIGTERM', () => {
    onClose();
    server.close();
    server.closeAllConnections();
    setTimeout(() => process.exit(0), 200).unref();
  });
}
