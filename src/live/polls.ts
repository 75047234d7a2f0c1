import { sql, type Kysely, type Transaction } from 'kysely';
import type { Clock } from '../clock.js';
import { conflict, DomainError, invalid, notFound, sessionEnded, unauthorized } from '../contract/errors.js';
import { isSessionId, isUuid } from '../contract/ids.js';
import type { PollEventMessage } from '../contract/live-protocol.js';
import { POLL_TALLY_MS, type CreatePoll, type Poll } from '../contract/polls.js';
import { RecentReads } from '../db/recent-reads.js';
import type { Database, UserId } from '../db/schema.js';
import { findBlockedTerm } from './blocked-terms.js';
import type { ChatLog } from './chat-log.js';
import { banned } from './comments.js';
import { requireModerator, type Actor } from './moderation.js';

/** Where polls are heard: their opening and closing as chat events, and that votes came in. */
export interface PollEvents {
  chatEvent(sessionId: string, message: PollEventMessage): void;
  /** Votes were committed: the session's rooms read the tallies again (at most once per POLL_TALLY_MS). */
  pollVoted(sessionId: string): void;
}

/** A session's open poll (null: none), read in one snapshot with the offset its chat had then. */
export interface OpenPoll {
  poll: Poll | null;
  offset: number;
}

/**
 * How long an instance gathers votes before it tells the rooms: a burst of ten thousand votes is
 * a handful of bus messages, not ten thousand.
 */
export const VOTES_ANNOUNCE_MS = 100;

/** Polls of a session one list shows at most. */
export const MAX_LISTED_POLLS = 100;

type Trx = Transaction<Database>;
type PollRow = {
  id: string;
  session_id: string;
  question: string;
  options: string[];
  status: 'open' | 'closed';
  created_at: Date;
  ends_at: Date;
  closed_at: Date | null;
  tallies: Record<string, number> | null;
};

/**
 * The host's polls: opened and closed by the session's vendor or one of their moderators, one
 * open at a time per session; voted on by signed-in users who are not banned from the vendor's
 * chat, each user's later vote replacing the earlier. Opening and closing take the session's next
 * offsets under its row's lock (the chat log), so `?since=` replays them; a vote is one
 * statement, and the votes of every VOTES_ANNOUNCE_MS are announced once per session to the
 * realtime layer, which reads the tallies again at most once a second per session. A poll past its `ends_at` is closed by the job queue
 * (poll-deadlines.ts), on whichever instance is up.
 */
export class Polls {
  readonly #open: RecentReads<OpenPoll>;
  readonly #openedListeners: ((poll: Poll) => void)[] = [];
  /** Sessions with votes stored since the last announcement. */
  readonly #voted = new Set<string>();
  #announcer: NodeJS.Timeout | undefined;

  constructor(
    private readonly db: Kysely<Database>,
    private readonly log: ChatLog,
    private readonly events: PollEvents,
    private readonly clock: Clock,
  ) {
    // A join storm's session_info reads the open poll once, not once per joiner.
    this.#open = new RecentReads(POLL_TALLY_MS, () => clock.now());
  }

  /** Calls `listener` with each poll opened on this instance (its deadline's wake-up). */
  onOpened(listener: (poll: Poll) => void): void {
    this.#openedListeners.push(listener);
  }

  /** Opens a poll: 403 unless the vendor or a moderator, 409 while another is open or once ended. */
  async open(sessionId: string, actor: Actor, input: CreatePoll): Promise<Poll> {
    const { question, options } = tidy(input);
    const session = await this.#session(sessionId);
    await requireModerator(this.db, session.vendor_id, actor, 'only the host or a moderator may open a poll');
    await this.#refuseBlockedTerms(session.vendor_id, question, options);
    const now = this.clock.now();
    const events = await this.db.transaction().execute(async (trx) => {
      if (!(await this.#lock(trx, session.id)).is_live)
        throw sessionEnded('Session has ended; no poll can open');
      const published: PollEventMessage[] = [];
      const open = await this.#openRow(trx, session.id);
      if (open && open.ends_at.getTime() > now)
        throw conflict('Another poll is open in this session; close it first');
      // Past its time, its job has not closed it yet: it closes now, before the new one opens.
      if (open) published.push(await this.#close(trx, open.id, open.ends_at));
      const id = crypto.randomUUID();
      await trx
        .insertInto('polls')
        .values({
          id,
          session_id: session.id,
          question,
          options: JSON.stringify(options),
          created_by: actor.id,
          created_at: new Date(now),
          status: 'open',
          ends_at: new Date(now + input.duration_seconds * 1000),
        })
        .execute();
      published.push(await this.#event(trx, id));
      return published;
    });
    this.#publish(session.id, events);
    const opened = events.at(-1)!.poll;
    for (const listener of this.#openedListeners) listener(opened);
    return opened;
  }

  /** Closes a poll (vendor or moderator); closing a closed one answers it as it is. */
  async close(sessionId: string, pollId: string, actor: Actor): Promise<Poll> {
    const session = await this.#session(sessionId);
    if (!isUuid(pollId)) throw notFound('Poll not found');
    await requireModerator(
      this.db,
      session.vendor_id,
      actor,
      'only the host or a moderator may close a poll',
    );
    const { poll, events } = await this.db.transaction().execute(async (trx) => {
      await this.#lock(trx, session.id);
      const row = await trx
        .selectFrom('polls')
        .select(['id', 'status'])
        .where('session_id', '=', session.id)
        .where('id', '=', pollId)
        .forUpdate()
        .executeTakeFirst();
      if (!row) throw notFound('Poll not found');
      if (row.status === 'closed') return { poll: await this.#read(trx, row.id), events: [] };
      const event = await this.#close(trx, row.id, new Date(this.clock.now()));
      return { poll: event.poll, events: [event] };
    });
    this.#publish(session.id, events);
    return poll;
  }

  /**
   * Closes an open poll whose time came (the deadline job, fenced by its attempt: a job taken
   * over by another instance changes nothing here). Its `closed_at` is its `ends_at`: no vote
   * was taken after it.
   */
  async closeDue(job: { id: string; session_id: string; attempts: number }): Promise<void> {
    const events = await this.db.transaction().execute(async (trx) => {
      await this.#lock(trx, job.session_id);
      const row = await trx
        .selectFrom('polls')
        .select(['id', 'ends_at'])
        .where('id', '=', job.id)
        .where('status', '=', 'open')
        .where('attempts', '=', job.attempts)
        .forUpdate()
        .executeTakeFirst();
      return row ? [await this.#close(trx, row.id, row.ends_at)] : [];
    });
    this.#publish(job.session_id, events);
  }

  /**
   * A user's vote (replacing their earlier one in this poll): one statement that stores it only
   * while the poll is open and the user is not banned; when it stores nothing, why not: 404,
   * 422 for an option the poll does not have, 403 `banned`, 409 for a closed poll.
   */
  async vote(sessionId: string, pollId: string, userId: UserId, option: number): Promise<void> {
    if (!isSessionId(sessionId) || !isUuid(pollId)) throw notFound('Poll not found');
    const now = new Date(this.clock.now());
    const stored = await sql<{ poll_id: string }>`
      insert into poll_votes (poll_id, user_id, option, voted_at)
      select p.id, u.id, ${option}::int, ${now}::timestamptz
      from polls p join live_sessions s on s.id = p.session_id, users u
      where p.id = ${pollId} and p.session_id = ${sessionId} and u.id = ${userId}
        and p.status = 'open' and p.ends_at > ${now} and ${option}::int < jsonb_array_length(p.options)
        and not exists (
          select 1 from bans b
          where b.vendor_id = s.vendor_id and b.user_id = u.id and (b.until is null or b.until > ${now}))
      on conflict (poll_id, user_id) do update set option = excluded.option, voted_at = excluded.voted_at
      returning poll_id`.execute(this.db);
    if (stored.rows.length === 0) throw await this.#whyNotStored(sessionId, pollId, userId, option, now);
    this.#voted.add(sessionId);
    this.#announcer ??= setTimeout(() => this.#announceVotes(), VOTES_ANNOUNCE_MS);
  }

  /** Tells the realtime layer of the votes not yet announced (shutdown: before the bus closes). */
  stop(): void {
    this.#announceVotes();
  }

  /** One bus message per session for every vote of the last VOTES_ANNOUNCE_MS. */
  #announceVotes(): void {
    clearTimeout(this.#announcer);
    this.#announcer = undefined;
    for (const sessionId of this.#voted) this.events.pollVoted(sessionId);
    this.#voted.clear();
  }

  /** The session's polls with their results, newest first (at most MAX_LISTED_POLLS). */
  async list(sessionId: string): Promise<Poll[]> {
    const session = await this.#session(sessionId);
    const rows = await this.db
      .selectFrom('polls as p')
      .select([...POLL_COLUMNS, TALLIES])
      .where('p.session_id', '=', session.id)
      .orderBy('p.created_at', 'desc')
      .orderBy('p.id', 'desc')
      .limit(MAX_LISTED_POLLS)
      .execute();
    return rows.map(toPoll);
  }

  /** The open poll with its tallies, for `session_info` (at most POLL_TALLY_MS old). */
  async current(sessionId: string): Promise<Poll | null> {
    return (await this.#open.get(sessionId, () => this.#readOpen(sessionId))).poll;
  }

  /** The open poll read afresh (after votes were heard), and the chat's offset as it was read. */
  tallies(sessionId: string): Promise<OpenPoll> {
    this.#open.forget(sessionId);
    return this.#open.get(sessionId, () => this.#readOpen(sessionId));
  }

  /** The session's chat state changed (a poll opened or closed, maybe elsewhere): read afresh. */
  changed(sessionId: string): void {
    this.#open.forget(sessionId);
  }

  async #readOpen(sessionId: string): Promise<OpenPoll> {
    if (!isSessionId(sessionId)) return { poll: null, offset: 0 };
    const row = await this.db
      .selectFrom('live_sessions as s')
      .leftJoin('polls as p', (join) => join.onRef('p.session_id', '=', 's.id').on('p.status', '=', 'open'))
      .select([...POLL_COLUMNS, TALLIES, 's.last_offset'])
      .where('s.id', '=', sessionId)
      .executeTakeFirst();
    const offset = Number(row?.last_offset ?? 0);
    return { poll: row?.id ? toPoll(row as PollRow) : null, offset };
  }

  /** Marks a poll closed at `closedAt` (session row locked) and numbers its closing event. */
  async #close(trx: Trx, pollId: string, closedAt: Date): Promise<PollEventMessage> {
    await trx
      .updateTable('polls')
      .set({ status: 'closed', closed_at: closedAt, lease_until: null })
      .where('id', '=', pollId)
      .execute();
    return this.#event(trx, pollId);
  }

  /** Appends the poll as it stands now as a `poll` chat event (session row locked). */
  async #event(trx: Trx, pollId: string): Promise<PollEventMessage> {
    const poll = await this.#read(trx, pollId);
    const { message } = await this.log.append(trx, poll.session_id, (offset) => ({
      type: 'poll' as const,
      poll,
      offset,
    }));
    return message;
  }

  async #read(db: Kysely<Database>, pollId: string): Promise<Poll> {
    const row = await db
      .selectFrom('polls as p')
      .select([...POLL_COLUMNS, TALLIES])
      .where('p.id', '=', pollId)
      .executeTakeFirstOrThrow();
    return toPoll(row);
  }

  async #session(sessionId: string) {
    const session = isSessionId(sessionId)
      ? await this.db
          .selectFrom('live_sessions')
          .select(['id', 'vendor_id'])
          .where('id', '=', sessionId)
          .executeTakeFirst()
      : undefined;
    if (!session) throw notFound('Session not found');
    return session;
  }

  /**
   * Takes the session row's lock (its chat events are numbered after every earlier one) and
   * says whether it is live.
   */
  async #lock(trx: Trx, sessionId: string): Promise<{ is_live: boolean }> {
    return trx
      .selectFrom('live_sessions')
      .select('is_live')
      .where('id', '=', sessionId)
      .forUpdate()
      .executeTakeFirstOrThrow();
  }

  #openRow(trx: Trx, sessionId: string) {
    return trx
      .selectFrom('polls')
      .select(['id', 'ends_at'])
      .where('session_id', '=', sessionId)
      .where('status', '=', 'open')
      .forUpdate()
      .executeTakeFirst();
  }

  /** Blocked terms apply to the question and every option, as to comments. */
  async #refuseBlockedTerms(vendorId: UserId, question: string, options: string[]): Promise<void> {
    const rows = await this.db
      .selectFrom('blocked_terms')
      .select('term')
      .where('vendor_id', '=', vendorId)
      .execute();
    const terms = rows.map((r) => r.term);
    if (terms.length === 0) return;
    const texts: [(string | number)[], string][] = [
      [['body', 'question'], question],
      ...options.map((text, i): [(string | number)[], string] => [['body', 'options', i], text]),
    ];
    for (const [field, text] of texts) {
      if (findBlockedTerm(text, terms))
        throw new DomainError(
          'blocked_term',
          'This poll contains a word or phrase you blocked in your chat',
          {
            field,
          },
        );
    }
  }

  /** Why a vote was not stored, looked up only then (the vote itself is one statement). */
  async #whyNotStored(
    sessionId: string,
    pollId: string,
    userId: UserId,
    option: number,
    now: Date,
  ): Promise<DomainError> {
    const poll = await this.db
      .selectFrom('polls as p')
      .innerJoin('live_sessions as s', 's.id', 'p.session_id')
      .select(['p.status', 'p.ends_at', 'p.options', 's.vendor_id'])
      .where('p.id', '=', pollId)
      .where('p.session_id', '=', sessionId)
      .executeTakeFirst();
    if (!poll) return notFound('Poll not found');
    if (option >= poll.options.length)
      return invalid(['body', 'option'], `option must be an index from 0 to ${poll.options.length - 1}`);
    const ban = await this.db
      .selectFrom('bans')
      .select('until')
      .where('vendor_id', '=', poll.vendor_id)
      .where('user_id', '=', userId)
      .where((w) => w.or([w('until', 'is', null), w('until', '>', now)]))
      .executeTakeFirst();
    if (ban) return banned(ban.until);
    if (poll.status === 'closed' || poll.ends_at <= now) return conflict('This poll is closed');
    // Nothing else stops a vote but a user who no longer exists.
    return unauthorized();
  }

  /** Hands committed poll events to the realtime layer, in offset order. */
  #publish(sessionId: string, events: readonly PollEventMessage[]): void {
    if (events.length === 0) return;
    this.#open.forget(sessionId);
    for (const message of events) this.events.chatEvent(sessionId, message);
  }
}

const POLL_COLUMNS = [
  'p.id',
  'p.session_id',
  'p.question',
  'p.options',
  'p.status',
  'p.created_at',
  'p.ends_at',
  'p.closed_at',
] as const;

/** A poll's votes per option index (`{"0": n, …}`; null before the first vote). */
const TALLIES = sql<Record<string, number> | null>`(
  select json_object_agg(t.option, t.n)
  from (select option, count(*)::int as n from poll_votes v where v.poll_id = p.id group by option) t
)`.as('tallies');

function toPoll(row: PollRow): Poll {
  const options = row.options.map((text, i) => ({ text, votes: row.tallies?.[i] ?? 0 }));
  return {
    id: row.id,
    session_id: row.session_id,
    question: row.question,
    options,
    status: row.status,
    total_votes: options.reduce((sum, o) => sum + o.votes, 0),
    created_at: row.created_at.toISOString(),
    ends_at: row.ends_at.toISOString(),
    closed_at: row.closed_at ? row.closed_at.toISOString() : null,
  };
}

/** The question and options trimmed; 422 for a blank one or two options alike. */
function tidy(input: CreatePoll): { question: string; options: string[] } {
  const question = input.question.trim();
  if (!question) throw invalid(['body', 'question'], 'question must not be blank');
  const options = input.options.map((text) => text.trim());
  const seen = new Set<string>();
  for (const [i, text] of options.entries()) {
    if (!text) throw invalid(['body', 'options', i], 'an option must not be blank');
    const key = text.toLowerCase();
    if (seen.has(key)) throw invalid(['body', 'options', i], `"${text}" is an option already`);
    seen.add(key);
  }
  return { question, options };
}
