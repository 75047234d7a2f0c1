import { randomBytes } from 'node:crypto';
import { mkdir, readdir, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { sql, type Kysely } from 'kysely';
import type { FastifyBaseLogger } from 'fastify';
import type { RecordingConfig } from '../config.js';
import { isSessionId } from '../contract/ids.js';
import type { Database } from '../db/schema.js';
import { JobQueue, type Job, type JobContext, type JobTable } from '../jobs/job-queue.js';
import {
  processRecording,
  UnusableRecording,
  type ProcessOptions,
  type ProcessedReplay,
} from './processor.js';
import type { Replays } from './replays.js';
import { replayKey, sessionOfKey } from './storage.js';

/** A job that failed this many times (for a reason that may pass) is given up. */
export const MAX_ATTEMPTS = 3;

export interface WorkerOptions {
  /** How often this instance looks for due jobs (default 1 s). */
  pollMs?: number;
  /** How often retention runs (default hourly). */
  sweepMs?: number;
  /** Tools and their timeout (processor.ts). */
  process?: Omit<ProcessOptions, 'signal'>;
}

/** A job this instance holds: the attempt number is its hold (the lease's owner). */
interface Claimed extends Job {
  session_id: string;
}

const day = 24 * 3600 * 1000;

/**
 * Processes replays in the background, `jobs` at a time on each instance (0: none here), never
 * on a request's path, on the job queue (jobs/job-queue.ts): a due job is claimed with
 * `lease_until` pushed ahead, renewed while it runs; a killed instance's job comes due again when
 * its lease runs out, on any instance. The result is stored only while the row still shows the
 * attempt the claim returned, so a job taken over after a crash completes once, under its one key.
 *
 * Jobs work in `<dir>/tmp/<session>-<attempt>-<random>/` (the storage's file system: the stored
 * file is a rename away), removed afterwards whatever happened; one left by a killed instance
 * is removed at start once no lease covers it. Retention (at start and hourly) deletes replays
 * older than `retentionDays`, files nobody refers to, and raw recordings left behind.
 */
export class ReplayWorker {
  /** The sessions whose jobs this instance has in hand (their temp folders are in use). */
  readonly #working = new Set<string>();
  readonly #queue: JobQueue<Claimed>;
  readonly #sweepMs: number;
  #sweepTimer: NodeJS.Timeout | undefined;
  #stopped = false;
  #started = false;

  constructor(
    private readonly db: Kysely<Database>,
    private readonly replays: Replays,
    private readonly config: RecordingConfig,
    private readonly log: FastifyBaseLogger,
    private readonly options: WorkerOptions = {},
  ) {
    this.#sweepMs = options.sweepMs ?? 3600_000;
    const leaseMs = config.leaseSeconds * 1000;
    this.#queue = new JobQueue(
      new ReplayJobs(db),
      (job, context) => this.#run(job, context),
      {
        name: 'replay job',
        concurrency: config.jobs,
        pollMs: options.pollMs ?? 1_000,
        leaseMs,
        // Renewed well before it runs out; a renewal that finds the job gone stops the work.
        renewEveryMs: Math.max(500, leaseMs / 3),
        retryDelayMs: (job, error) =>
          error instanceof UnusableRecording || job.attempts >= MAX_ATTEMPTS
            ? undefined
            : job.attempts * 10_000,
        onFailure: (job, error, retryInMs) =>
          this.log[retryInMs === undefined ? 'error' : 'warn'](
            { session: job.session_id, attempt: job.attempts, error },
            retryInMs === undefined ? 'replay failed' : 'replay attempt failed',
          ),
      },
      log,
    );
  }

  start(): void {
    if (this.#started || this.#stopped) return;
    this.#started = true;
    // Retention first thing, beside the jobs (never holding them up).
    const sweep = () =>
      void this.sweep().catch((error: unknown) => this.log.warn({ err: error }, 'replay retention failed'));
    sweep();
    this.#queue.start();
    this.#sweepTimer = setInterval(sweep, this.#sweepMs);
    this.#sweepTimer.unref();
  }

  /**
   * Stops: no more claims; the jobs under way are aborted (their temp folders removed) and their
   * leases left to run out, so another instance takes them up.
   */
  async stop(): Promise<void> {
    this.#stopped = true;
    clearInterval(this.#sweepTimer);
    await this.#queue.stop();
  }

  /** Claims due jobs while slots are free and starts them; polls never overlap. */
  poll(): Promise<void> {
    return this.#queue.poll();
  }

  async #run(job: Claimed, { signal, renew }: JobContext): Promise<void> {
    const id = job.session_id;
    const work = join(this.replays.tmpDir, `${id}-${job.attempts}-${randomBytes(4).toString('hex')}`);
    this.#working.add(id);
    try {
      // An earlier attempt's folder (its instance was killed): this instance holds the job now.
      for (const name of await readdir(this.replays.tmpDir).catch(() => [] as string[])) {
        if (name.startsWith(`${id}-`))
          await rm(join(this.replays.tmpDir, name), { recursive: true, force: true });
      }
      await mkdir(work, { recursive: true });
      const started = Date.now();
      const result = await processRecording(this.replays.rawDir(id), work, {
        ...this.options.process,
        signal,
      });
      signal.throwIfAborted();
      // The work folder goes before the outcome is recorded: whoever sees the outcome (a
      // sweep, an operator, a test) never sees the folder of a finished job.
      const removeWork = () => rm(work, { recursive: true, force: true });
      if (!result) {
        await removeWork();
        await this.#nothingRecorded(job);
        return;
      }
      // Still this instance's job (and for long enough to store it): then the file goes under
      // the session's one key and the row says ready, both only for the holder.
      if (!(await renew())) throw new Error('the job is no longer held by this instance');
      await this.#store(job, result, removeWork, Date.now() - started);
    } finally {
      this.#working.delete(id);
      await rm(work, { recursive: true, force: true }).catch(() => undefined);
    }
  }

  /** Nothing reached the recorder: there is no replay. */
  async #nothingRecorded(job: Claimed): Promise<void> {
    await this.db
      .deleteFrom('replays')
      .where('session_id', '=', job.session_id)
      .where('status', '=', 'processing')
      .where('attempts', '=', job.attempts)
      .execute();
    this.log.info({ session: job.session_id }, 'nothing was recorded: no replay');
  }

  /**
   * Stores the processed file under the session's one key (a rename out of the work folder, which
   * then goes) and marks the replay ready.
   */
  async #store(
    job: Claimed,
    result: ProcessedReplay,
    removeWork: () => Promise<void>,
    ms: number,
  ): Promise<void> {
    const id = job.session_id;
    const key = replayKey(id, result.extension);
    const size = (await stat(result.file)).size;
    await this.replays.storage.put(key, result.file);
    await removeWork();
    const ready = await this.db
      .updateTable('replays')
      .set({
        status: 'ready',
        storage_key: key,
        content_type: result.contentType,
        size_bytes: size,
        duration_seconds: result.durationSeconds,
        timeline: JSON.stringify(result.timeline),
        error: null,
        lease_until: null,
        ready_at: sql<Date>`now()`,
      })
      .where('session_id', '=', id)
      .where('status', '=', 'processing')
      .where('attempts', '=', job.attempts)
      .returning('session_id')
      .executeTakeFirst();
    if (!ready) {
      // Deleted meanwhile: nothing may stay stored. (Taken over: the new holder stores the
      // same key.)
      const row = await this.db
        .selectFrom('replays')
        .select('session_id')
        .where('session_id', '=', id)
        .executeTakeFirst();
      if (!row) await this.replays.storage.delete(key);
      return;
    }
    await rm(this.replays.rawDir(id), { recursive: true, force: true });
    this.log.info({ session: id, ms, bytes: size, seconds: result.durationSeconds }, 'replay ready');
  }

  /**
   * Housekeeping, at start and hourly: temp folders no lease covers (a killed instance's),
   * recordings whose end was never queued, replays past retention, and files and raw folders
   * no replay refers to.
   */
  async sweep(): Promise<void> {
    await this.#removeAbandonedWork();
    // A session that ended while its instance died before queueing the job.
    await sql`
      update replays r set status = 'processing', not_before = now()
      from live_sessions s
      where s.id = r.session_id and r.status = 'recording' and s.is_live = false
        and s.ended_at < now() - interval '1 minute'`.execute(this.db);
    if (this.config.retentionDays > 0) {
      const old = await this.db
        .selectFrom('replays')
        .select(['session_id', 'storage_key'])
        .where('status', 'in', ['ready', 'failed'])
        .where(
          sql<boolean>`coalesce(ready_at, created_at) < now() - ${this.config.retentionDays} * interval '1 day'`,
        )
        .execute();
      for (const row of old) await this.replays.remove(row.session_id, row.storage_key);
      if (old.length > 0) this.log.info({ replays: old.length }, 'old replays deleted');
    }
    // Stored files no replay refers to (older than an hour: one may be being stored right now).
    const stored = await this.replays.storage.list();
    const referenced = new Set(
      (
        await this.db
          .selectFrom('replays')
          .select('storage_key')
          .where('storage_key', 'is not', null)
          .execute()
      ).map((r) => r.storage_key),
    );
    for (const file of stored) {
      const session = sessionOfKey(file.key);
      if (!referenced.has(file.key) && session && file.ageMs > 3600_000) {
        const row = await this.db
          .selectFrom('replays')
          .select('status')
          .where('session_id', '=', session)
          .executeTakeFirst();
        if (!row || row.status !== 'processing') await this.replays.storage.delete(file.key);
      }
    }
    // Raw recordings without a replay (deleted, or never one), a day after they were last written.
    const raw = this.replays.rawRoot;
    for (const name of await readdir(raw).catch(() => [] as string[])) {
      if (!isSessionId(name)) continue;
      const info = await stat(join(raw, name)).catch(() => undefined);
      if (!info || Date.now() - info.mtimeMs < day) continue;
      const row = await this.db
        .selectFrom('replays')
        .select('status')
        .where('session_id', '=', name)
        .executeTakeFirst();
      if (!row || row.status === 'ready') await rm(join(raw, name), { recursive: true, force: true });
    }
  }

  /** Temp folders of jobs no instance holds any more (killed while processing). */
  async #removeAbandonedWork(): Promise<void> {
    const names = await readdir(this.replays.tmpDir).catch(() => [] as string[]);
    for (const name of names) {
      const match = /^([0-9a-f-]{36})-(\d+)-[0-9a-f]+$/.exec(name);
      if (match && this.#working.has(match[1] as string)) continue;
      if (match && isSessionId(match[1] as string)) {
        const held = await this.db
          .selectFrom('replays')
          .select('session_id')
          .where('session_id', '=', match[1] as string)
          .where('status', '=', 'processing')
          .where('attempts', '=', Number(match[2]))
          .where('lease_until', '>', sql<Date>`now()`)
          .executeTakeFirst();
        if (held) continue;
      }
      await rm(join(this.replays.tmpDir, name), { recursive: true, force: true });
      this.log.info({ folder: name }, 'removed the temp folder of an abandoned replay job');
    }
  }
}

/** The replays as the job queue's table: a replay `processing` is a job, `not_before` its due time. */
class ReplayJobs implements JobTable<Claimed> {
  constructor(private readonly db: Kysely<Database>) {}

  async claim(limit: number, leaseMs: number): Promise<Claimed[]> {
    const result = await sql<Claimed>`
      update replays
      set lease_until = now() + ${leaseMs} * interval '1 millisecond',
          attempts = attempts + 1
      where session_id in (
        select session_id from replays
        where status = 'processing' and not_before <= now()
          and (lease_until is null or lease_until < now())
        order by not_before
        limit ${limit}
        for update skip locked
      )
      returning session_id::text as session_id, attempts`.execute(this.db);
    return result.rows;
  }

  async renew(job: Claimed, leaseMs: number): Promise<boolean> {
    const row = await this.#held(job)
      .set({ lease_until: sql<Date>`now() + ${leaseMs} * interval '1 millisecond'` })
      .returning('session_id')
      .executeTakeFirst();
    return row !== undefined;
  }

  async retry(job: Claimed, delayMs: number, error: string): Promise<void> {
    await this.#held(job)
      .set({ error, lease_until: null, not_before: sql<Date>`now() + ${delayMs} * interval '1 millisecond'` })
      .execute();
  }

  async giveUp(job: Claimed, error: string): Promise<void> {
    await this.#held(job).set({ status: 'failed', error, lease_until: null }).execute();
  }

  #held(job: Claimed) {
    return this.db
      .updateTable('replays')
      .where('session_id', '=', job.session_id)
      .where('status', '=', 'processing')
      .where('attempts', '=', job.attempts);
  }
}
