import type { FastifyBaseLogger } from 'fastify';
import type { Counter } from 'prom-client';
import { DomainError } from '../contract/errors.js';
import type { Sessions } from '../live/sessions.js';
import type { IngestPipeline } from '../media/ingest-pipeline.js';
import { IngestPlanner, type IngestPlan, type PacketFacts } from '../media/ingest-plan.js';
import type { Media } from '../media/media.js';
import type { StreamKeyOwner, StreamKeys } from '../media/stream-keys.js';
import type { Thumbnails } from '../media/thumbnails.js';

/** What carries one ingest's media: an IngestPipeline (FFmpeg and webrtcbin), or a test's fake. */
export type IngestMedia = Pick<
  IngestPipeline,
  'write' | 'offer' | 'answer' | 'onEnded' | 'stop' | 'lastWords'
>;

/** Starts the media of one ingest, with its plan. */
export type PipelineFactory = (
  plan: Extract<IngestPlan, { video: string }>,
  format: 'flv' | 'mpegts',
  onThumbnail: (jpeg: Buffer) => void,
) => IngestMedia;

/** What an ingest needs: who may publish, where, and what carries the media. */
export interface IngestServices {
  streamKeys: Pick<StreamKeys, 'authenticate'>;
  sessions: Pick<Sessions, 'liveOrStart'>;
  media: Pick<Media, 'sfu'>;
  thumbnails: Pick<Thumbnails, 'save'>;
  pipelines: PipelineFactory;
  log: FastifyBaseLogger;
  /** streammeon_ingest_streams_total. */
  streams: Counter<'protocol' | 'video'>;
}

/** Where an ingest's bytes come from, as it may end it. */
export interface IngestSource {
  /** `rtmp`, for the log and the metric. */
  readonly protocol: string;
  readonly remote: string;
  /** The container the bytes are in, as FFmpeg names it. */
  readonly format: 'flv' | 'mpegts';
  /** Closes the encoder's connection. */
  close(): void;
}

/** Packets held while the plan is made; a stream bigger than this by then is refused. */
const MAX_PLANNING_BYTES = 8 * 1024 * 1024;
/** The plan is made by then, whatever arrived (a stream that trickles is not held open). */
const PLAN_WITHIN_MS = 6_000;

/**
 * Encoders that publish with a stream key (RTMP today): each accepted connection becomes an
 * Ingest, which publishes into the key owner's live session (or starts one, as WHIP with a key
 * does) through the same Publishers as WHIP, so one publisher per session, the media states,
 * recording and replays are the same whichever way the vendor goes live.
 */
export class Ingests {
  readonly #active = new Set<Ingest>();

  constructor(private readonly services: IngestServices) {}

  /**
   * Checks a stream key before anything is processed: wrong or revoked → `unauthorized` (the
   * connection closes, nothing is created). Resolves with the ingest that takes the stream.
   */
  async accept(key: string, source: IngestSource): Promise<Ingest> {
    this.services.media.sfu();
    const owner = await this.services.streamKeys.authenticate(key);
    const ingest = new Ingest(this.services, owner, source, () => this.#active.delete(ingest));
    this.#active.add(ingest);
    return ingest;
  }

  /** Ingests on this instance (tests). */
  get size(): number {
    return this.#active.size;
  }

  /** Ends every ingest: their publishers stop, their processes exit. */
  async close(): Promise<void> {
    await Promise.all([...this.#active].map((ingest) => ingest.stop('the server is shutting down')));
  }
}

/** A refusal an encoder hears (RTMP's `onStatus` description) when the application is wrong. */
export function wrongApplication(expected: string): DomainError {
  return new DomainError('not_found', `Publish to ${expected}/<stream key>`);
}

/**
 * One encoder's stream: planned from its first seconds (IngestPlanner), then carried by an
 * IngestPipeline into a WHIP publisher of the session. Ends once, logging one line with why.
 */
export class Ingest {
  readonly #planner = new IngestPlanner();
  #held: Buffer[] = [];
  #heldBytes = 0;
  #pipeline: IngestMedia | undefined;
  /** The plan is made (once): bytes are held until its pipeline exists, and never planned again. */
  #decided = false;
  #sessionId: string | undefined;
  #resourceId: string | undefined;
  #ended = false;
  readonly #planTimer: NodeJS.Timeout;

  constructor(
    private readonly services: IngestServices,
    private readonly owner: StreamKeyOwner,
    private readonly source: IngestSource,
    private readonly onFinished: () => void,
  ) {
    this.#planTimer = setTimeout(() => this.#planned(this.#planner.decide()), PLAN_WITHIN_MS);
    this.#planTimer.unref();
  }

  /** The next bytes of the stream; `facts` when the source knows them (RTMP's packets). */
  write(bytes: Buffer, facts?: PacketFacts): void {
    if (this.#ended) return;
    if (this.#pipeline) return this.#pipeline.write(bytes);
    this.#held.push(bytes);
    this.#heldBytes += bytes.length;
    if (this.#heldBytes > MAX_PLANNING_BYTES) {
      if (this.#decided) void this.stop('the stream arrived faster than its ingest could start', true);
      else this.#planned(this.#planner.decide());
      return;
    }
    if (this.#decided) return;
    const plan = facts && this.#planner.observe(facts);
    if (plan) this.#planned(plan);
  }

  /** Ends the ingest (the encoder went, the server stops, a newer publisher took over, …). */
  async stop(reason: string, failed = false): Promise<void> {
    if (this.#ended) return;
    this.#ended = true;
    clearTimeout(this.#planTimer);
    this.onFinished();
    this.source.close();
    const { log } = this.services;
    const line = `${this.source.protocol.toUpperCase()} ingest ended: ${reason}`;
    const context = { session: this.#sessionId, remote: this.source.remote };
    if (failed) log.warn({ ...context, detail: this.#pipeline?.lastWords }, line);
    else log.info(context, line);
    await this.#pipeline?.stop();
    if (this.#sessionId && this.#resourceId) {
      // Already gone when a newer publisher or the session's end took it: nothing to stop.
      await this.services.media
        .sfu()
        .publishers.stop(this.#sessionId, this.#resourceId, this.owner.userId)
        .catch(() => {});
    }
  }

  #planned(plan: IngestPlan): void {
    clearTimeout(this.#planTimer);
    if (this.#ended || this.#decided) return;
    this.#decided = true;
    const video = 'refused' in plan ? 'refused' : plan.video;
    this.services.streams.inc({ protocol: this.source.protocol, video });
    if ('refused' in plan) {
      void this.stop(`refused: ${plan.refused}`, true);
      return;
    }
    this.#start(plan).catch((error: unknown) => {
      void this.stop(`could not publish: ${error instanceof Error ? error.message : String(error)}`, true);
    });
  }

  async #start(plan: Extract<IngestPlan, { video: string }>): Promise<void> {
    const { sessions, media, thumbnails, pipelines, log } = this.services;
    const sessionId = await sessions.liveOrStart(this.owner.userId, this.owner.title ?? 'Live');
    if (this.#ended) return;
    this.#sessionId = sessionId;
    const pipeline = pipelines(plan, this.source.format, (jpeg) => {
      thumbnails.save(sessionId, jpeg).catch((error: unknown) => {
        log.warn({ err: error, session: sessionId }, 'could not keep a thumbnail');
      });
    });
    this.#pipeline = pipeline;
    pipeline.onEnded((reason) => void this.stop(reason, reason !== 'the input ended'));
    for (const bytes of this.#held) pipeline.write(bytes);
    this.#held = [];
    const offer = await pipeline.offer();
    if (this.#ended) return;
    const published = await media
      .sfu()
      .publishers.publish(sessionId, this.owner.userId, offer, () => void this.stop('its publisher went'));
    this.#resourceId = published.resourceId;
    if (this.#ended) {
      await media
        .sfu()
        .publishers.stop(sessionId, published.resourceId, this.owner.userId)
        .catch(() => {});
      return;
    }
    pipeline.answer(published.answer);
    log.info(
      { session: sessionId, remote: this.source.remote, video: plan.video },
      `${this.source.protocol.toUpperCase()} ingest publishing (${plan.reason})`,
    );
  }
}
