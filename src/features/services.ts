import { join } from 'node:path';
import type { FastifyBaseLogger } from 'fastify';
import { Authenticator } from '../auth/authenticator.js';
import { ExistingUsers } from '../auth/existing-users.js';
import { Passwords } from '../auth/passwords.js';
import { Tokens } from '../auth/tokens.js';
import { Users } from '../auth/users.js';
import { systemClock, type Clock } from '../clock.js';
import { keepDevelopmentSecret, type Config, type RateRule } from '../config.js';
import { openStore, type Store } from '../db/store.js';
import { RouteAuth } from '../http/authenticate.js';
import type { Limiter } from '../limits/limiter.js';
import { createLimiter } from '../limits/limiters.js';
import { UserBudget } from '../limits/user-budget.js';
import { ChatLog } from '../live/chat-log.js';
import type { LiveEvents } from '../live/events.js';
import { countComments } from '../live/comment-metrics.js';
import { Comments } from '../live/comments.js';
import { Moderation } from '../live/moderation.js';
import { Polls } from '../live/polls.js';
import { Sessions } from '../live/sessions.js';
import { Views } from '../live/views.js';
import { Reactions, REACTIONS_FLUSH_MS } from '../live/reactions.js';
import type { MediaState } from '../contract/media.js';
import { Media } from '../media/media.js';
import { Thumbnails } from '../media/thumbnails.js';
import { StreamKeys } from '../media/stream-keys.js';
import { Metrics } from '../metrics/metrics.js';
import { createBackends, type RealtimeBackends } from '../realtime/backends.js';
import { LiveHub, type LiveHubOptions } from '../realtime/live-hub.js';
import { Heartbeat } from '../realtime/peer.js';
import { SignalHub } from '../realtime/signal-hub.js';
import { Replays } from '../replays/replays.js';
import { LocalReplayStorage } from '../replays/storage-local.js';
import { WebhookDispatcher } from '../webhooks/dispatcher.js';
import { WebhookOutbox } from '../webhooks/outbox.js';
import { SessionLifecycle } from './session-lifecycle.js';

/** What buildApp may be handed instead of creating it from the config (tests, benchmarks). */
export interface AppDeps {
  store?: Store;
  /** Bus and presence; by default in-process, or Redis when REDIS_URL is set. */
  backends?: RealtimeBackends;
  clock?: Clock;
}

/** Every service of one app, built once from the config; the feature plugins take what they need. */
export interface Services {
  config: Config;
  clock: Clock;
  store: Store;
  backends: RealtimeBackends;
  limiter: Limiter;
  metrics: Metrics;
  tokens: Tokens;
  auth: Authenticator;
  routeAuth: RouteAuth;
  users: Users;
  views: Views;
  heartbeat: Heartbeat;
  liveHub: LiveHub;
  signalHub: SignalHub;
  lifecycle: SessionLifecycle;
  outbox: WebhookOutbox;
  /** Delivers the outbox in the background; none when no WEBHOOK_URLS are set. */
  dispatcher: WebhookDispatcher | undefined;
  sessions: Sessions;
  chatLog: ChatLog;
  comments: Comments;
  reactions: Reactions;
  polls: Polls;
  moderation: Moderation;
  media: Media;
  streamKeys: StreamKeys;
  thumbnails: Thumbnails;
  replays: Replays;
  /** Closes what was created here (a passed-in store or backends stay open: their owner closes them). */
  close(): Promise<void>;
}

/**
 * The service graph of one app: every stateful piece, created from the config (or taken from
 * `deps`) and wired to the others, with no HTTP in it. The feature plugins (features/*.ts)
 * register its routes and start and stop its background work.
 */
export async function buildServices(
  config: Config,
  log: FastifyBaseLogger,
  deps: AppDeps = {},
): Promise<Services> {
  const clock = deps.clock ?? systemClock;
  // DATA_DIR holds what the app keeps: the embedded database and a made-up development secret.
  keepDevelopmentSecret(config);
  const store = deps.store ?? (await openStore(config));
  const backends = deps.backends ?? createBackends(config, log, config.redisPrefix);
  const { bus, presence } = backends;
  const metrics = new Metrics();
  if (backends.redis) metrics.watchRedis(backends.redis);
  const limiter = createLimiter(backends.redis, clock);
  // A session's page (Sessions.get) shows its unique views: a new one here shows on the next read.
  const views = new Views(store.db, (id) => sessions.changed(id));
  // The hub reads a poll's tallies again after votes; the polls tell the hub of them.
  const liveHub = liveHubOf(config, backends, views, metrics, log, (id) => polls.tallies(id));
  const signalHub = new SignalHub(bus, log);
  const { replays, media } = mediaServices(config, store, liveHub, log, (ids) => sessions.getMany(ids));
  const lifecycle = new SessionLifecycle(bus, { liveHub, signalHub, media, replays }, log);
  const events: LiveEvents = {
    commentPosted: liveHub.commentPosted.bind(liveHub),
    chatEvent: liveHub.chatEvent.bind(liveHub),
    sessionStarted: lifecycle.started.bind(lifecycle),
    sessionEnded: lifecycle.ended.bind(lifecycle),
  };
  const tokens = new Tokens(config.jwtSecret, config.accessTtlMin, clock);
  const auth = new Authenticator(tokens, store.userIdType, ExistingUsers.inDatabase(store.db, clock));
  // Webhooks: any service records an event in its own transaction (outbox.enqueue).
  const outbox = new WebhookOutbox(config.webhooks.urls, clock);
  const sessions: Sessions = new Sessions(store.db, presence, events, clock, outbox, config.lobbySnapshotMs);
  const { chatLog, comments, moderation } = chatServices(config, store, {
    events,
    clock,
    limiter,
    metrics,
    outbox,
  });
  const polls: Polls = new Polls(store.db, chatLog, liveHub, clock);
  const reactions = new Reactions(store.db, liveHub, clock, {
    flushMs: REACTIONS_FLUSH_MS,
    isLive: async (id) => (await sessions.get(id)).is_live,
    onWriteFailed: (error) => log.warn({ err: error }, 'could not add reactions to their totals'),
  });
  return {
    config,
    clock,
    store,
    backends,
    limiter,
    metrics,
    tokens,
    auth,
    routeAuth: new RouteAuth(auth),
    users: new Users(store.db, new Passwords(), clock),
    views,
    heartbeat: new Heartbeat(config.realtime.heartbeatIntervalMs),
    liveHub,
    signalHub,
    lifecycle,
    outbox,
    dispatcher: outbox.enabled
      ? new WebhookDispatcher(store.db, config.webhooks, log, (o) => metrics.webhookAttempts.inc(o))
      : undefined,
    sessions,
    chatLog,
    comments,
    reactions,
    polls,
    moderation,
    media,
    streamKeys: new StreamKeys(store.db, clock),
    thumbnails: new Thumbnails(store.db, clock),
    replays,
    close: async () => {
      lifecycle.close();
      await reactions.close();
      polls.stop();
      await limiter.close();
      if (!deps.backends) await backends.close();
      if (!deps.store) await store.close();
    },
  };
}

function liveHubOf(
  config: Config,
  { bus, presence }: RealtimeBackends,
  views: Views,
  metrics: Metrics,
  log: FastifyBaseLogger,
  pollTallies: LiveHubOptions['pollTallies'],
): LiveHub {
  const options: LiveHubOptions = {
    viewerCountIntervalMs: config.realtime.viewerCountIntervalMs,
    recountIntervalMs: config.realtime.presenceHeartbeatMs,
    meter: { tally: metrics.tallies.live, fanoutDelay: metrics.fanoutDelay },
    pollTallies,
  };
  return new LiveHub(bus, presence, views, options, log);
}

/** The chat: its log, comments (under the per-user budget) and moderation. */
function chatServices(
  config: Config,
  store: Store,
  {
    events,
    clock,
    limiter,
    metrics,
    outbox,
  }: {
    events: LiveEvents;
    clock: Clock;
    limiter: Limiter;
    metrics: Metrics;
    outbox: WebhookOutbox;
  },
) {
  const budget = (rule: RateRule, name: string, what: string) =>
    config.rateLimits.enabled ? new UserBudget(limiter, rule, name, what) : undefined;
  const chatLog = new ChatLog(store.db);
  const commentBudget = budget(config.rateLimits.commentsPerUser, 'comments', 'Too many comments');
  const comments = countComments(new Comments(store.db, events, clock, chatLog, commentBudget), metrics);
  const { moderationPerUser } = config.rateLimits;
  const moderationBudget = budget(moderationPerUser, 'moderation', 'Too many moderation actions');
  const moderation = new Moderation(store.db, chatLog, events, clock, moderationBudget, outbox);
  return { chatLog, comments, moderation };
}

/** Replays and the media server (SFU mode with JANUS_URL(S): WHIP/WHEP through Janus). */
function mediaServices(
  config: Config,
  store: Store,
  liveHub: LiveHub,
  log: FastifyBaseLogger,
  sessionsOf: ConstructorParameters<typeof Replays>[3],
): { replays: Replays; media: Media } {
  const storage = new LocalReplayStorage(join(config.recordings.dir, 'replays'));
  const replays = new Replays(store.db, config.recordings, storage, sessionsOf);
  // The media state reaches /ws/live through the hub.
  const events = { mediaState: (id: string, state: MediaState) => liveHub.mediaState(id, state) };
  return { replays, media: new Media(config.media, store.db, events, log, replays) };
}
