/** A thin JSON client for tests: every call returns status and parsed body. */
export interface Reply<T = any> {
  status: number;
  body: T;
  headers: Headers;
}

export async function call<T = any>(
  baseUrl: string,
  method: string,
  path: string,
  options: { token?: string; body?: unknown; headers?: Record<string, string>; raw?: string } = {},
): Promise<Reply<T>> {
  const headers: Record<string, string> = { ...options.headers };
  if (options.token) headers.authorization = `Bearer ${options.token}`;
  let body: string | undefined;
  if (options.raw !== undefined) body = options.raw;
  else if (options.body !== undefined) body = JSON.stringify(options.body);
  if (body !== undefined && !headers['content-type']) headers['content-type'] = 'application/json';
  const res = await fetch(baseUrl + path, { method, headers, body });
  const text = await res.text();
  let parsed: unknown = text;
  try {
    parsed = text ? JSON.parse(text) : undefined;
  } catch {
    // not JSON: keep the text
  }
  return { status: res.status, body: parsed as T, headers: res.headers };
}

let counter = 0;

/** Registers a fresh user and returns its token and user object. */
export async function register(
  baseUrl: string,
  role: 'vendor' | 'user' = 'user',
  name?: string,
): Promise<{ token: string; user: { id: string | number; name: string; email: string; role: string } }> {
  counter += 1;
  const tag = `${Date.now().toString(36)}${counter}${Math.random().toString(36).slice(2, 6)}`;
  const res = await call(baseUrl, 'POST', '/auth/register', {
    body: {
      email: `${role}-${tag}@example.com`,
      name: name ?? `${role}-${tag}`,
      password: 'correct horse',
      role,
    },
  });
  if (res.status !== 200) throw new Error(`register failed: ${res.status} ${JSON.stringify(res.body)}`);
  return { token: res.body.access_token, user: res.body.user };
}

/** Registers a vendor and opens a live session; returns both. */
export async function goLive(baseUrl: string, title = 'Test live') {
  const vendor = await register(baseUrl, 'vendor');
  const res = await call(baseUrl, 'POST', '/live/sessions', { token: vendor.token, body: { title } });
  if (res.status !== 200) throw new Error(`create session failed: ${res.status} ${JSON.stringify(res.body)}`);
  return { vendor, session: res.body as { session_id: string; title: string } };
}

/** A replay as `GET /live/sessions/{id}/replay` answers it (the fields the tests read). */
export interface ReplayReply {
  status: string;
  url: string;
  content_type: string;
  error: string | null;
}

/** Polls the session's replay until it is ready (throws at once if it failed); answers it. */
export async function replayReady(baseUrl: string, sessionId: string, ms = 60_000): Promise<ReplayReply> {
  const deadline = Date.now() + ms;
  for (;;) {
    const replay = (await call(baseUrl, 'GET', `/live/sessions/${sessionId}/replay`)).body as ReplayReply;
    if (replay?.status === 'failed') throw new Error(`the replay failed: ${replay.error}`);
    if (replay?.status === 'ready') return replay;
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting until the replay is ready`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}
