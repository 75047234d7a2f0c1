import type { FastifyBaseLogger } from 'fastify';
import type { LiveSession } from '../contract/rest.js';
import type { Media } from '../media/media.js';
import type { Bus } from '../realtime/bus.js';
import type { LiveHub } from '../realtime/live-hub.js';
import type { SignalHub } from '../realtime/signal-hub.js';
import type { Replays } from '../replays/replays.js';

/**
 * The bus channel on which the instance that started or ended a session tells every instance:
 * `+<session id>` started, `-<session id>` ended.
 */
const SESSIONS_CHANNEL = 'sessions';

/** What a session's start or end concerns besides the lobby. */
export interface SessionParties {
  liveHub: LiveHub;
  signalHub: SignalHub;
  media: Media;
  replays: Replays;
}

/** A session started or ended, as every instance hears it. */
export interface SessionChange {
  kind: 'started' | 'ended';
  sessionId: string;
}

/**
 * What happens when a session starts or ends: the one place that says it.
 *
 * The instance that ends a session (its service committed the end) tells the session's peers
 * on every instance (the live and signal hubs, over the bus), destroys the media room (which
 * hangs up every publisher and viewer in it, and closes the recording) and then queues the
 * replay. And it says so on the bus, where every instance, itself included, drops its lobby
 * snapshot and lets go of its own WHIP/WHEP handles of the session, whatever it holds of it (an
 * instance that only holds a publisher has no /ws/live viewer to hear the end through).
 */
export class SessionLifecycle {
  readonly #listeners: ((change: SessionChange) => void)[] = [];
  readonly #unsubscribe: () => void;

  constructor(
    private readonly bus: Bus,
    private readonly parties: SessionParties,
    private readonly log: FastifyBaseLogger,
  ) {
    this.#unsubscribe = bus.subscribe(SESSIONS_CHANNEL, (message) => this.#heard(message));
  }

  /** Calls `listener` for every start and end any instance makes (the lobby's snapshot). */
  onChange(listener: (change: SessionChange) => void): void {
    this.#listeners.push(listener);
  }

  /** This instance started `session` (committed). */
  started(session: LiveSession): void {
    this.bus.publish(SESSIONS_CHANNEL, `+${session.session_id}`);
  }

  /** This instance ended `session` (committed). */
  ended(session: LiveSession): void {
    const id = session.session_id;
    this.bus.publish(SESSIONS_CHANNEL, `-${id}`);
    this.parties.liveHub.sessionEnded(session);
    this.parties.signalHub.sessionEnded(session);
    void this.parties.media
      .sessionEnded(id, true)
      .catch((error: unknown) => {
        this.log.warn({ err: error, session: id }, 'could not tear down the media room');
      })
      .then(() => this.parties.replays.sessionEnded(id))
      .catch((error: unknown) => {
        this.log.warn({ err: error, session: id }, 'could not queue the replay');
      });
  }

  /** Stops listening to the bus. */
  close(): void {
    this.#unsubscribe();
  }

  #heard(message: string): void {
    const change: SessionChange = {
      kind: message[0] === '-' ? 'ended' : 'started',
      sessionId: message.slice(1),
    };
    for (const listener of this.#listeners) listener(change);
    if (change.kind !== 'ended') return;
    this.parties.media.sessionEnded(change.sessionId, false).catch((error: unknown) => {
      this.log.warn({ err: error, session: change.sessionId }, 'could not let go of the media handles');
    });
  }
}
