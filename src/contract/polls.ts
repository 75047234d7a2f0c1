/**
 * Polls: the host asks the room. The vendor or one of their moderators opens one poll at a time
 * per live session; viewers vote for one option (a later vote replaces the earlier); the poll
 * closes at `ends_at` or when the host closes it. Opening and closing are chat events with
 * offsets (replayed by `?since=`); the tallies in between reach viewers at most once per
 * POLL_TALLY_MS while votes arrive.
 */
import { Type, type Static } from 'typebox';

export const POLL_MIN_OPTIONS = 2;
export const POLL_MAX_OPTIONS = 5;
export const POLL_MIN_SECONDS = 10;
export const POLL_MAX_SECONDS = 3600;
export const POLL_QUESTION_MAX = 200;
export const POLL_OPTION_MAX = 80;

/** The least time between two tally updates of a poll on one connection. */
export const POLL_TALLY_MS = 1000;

export const PollStatusSchema = Type.Union([Type.Literal('open'), Type.Literal('closed')]);
export type PollStatus = Static<typeof PollStatusSchema>;

export const PollSchema = Type.Object({
  id: Type.String({ format: 'uuid' }),
  session_id: Type.String({ format: 'uuid' }),
  question: Type.String(),
  /** In the order the host gave them; a vote names an option by its index here. */
  options: Type.Array(
    Type.Object({
      text: Type.String(),
      votes: Type.Integer({ minimum: 0, description: 'users whose current vote is this option' }),
    }),
  ),
  status: PollStatusSchema,
  total_votes: Type.Integer({ minimum: 0, description: 'users who voted (each counts once)' }),
  created_at: Type.String({ format: 'date-time' }),
  /** When the poll closes (open) or was due to (closed). */
  ends_at: Type.String({ format: 'date-time' }),
  /** When it closed: at `ends_at`, earlier when the host closed it or the session ended; null while open. */
  closed_at: Type.Union([Type.String({ format: 'date-time' }), Type.Null()]),
});
export type Poll = Static<typeof PollSchema>;

export const PollListSchema = Type.Object({
  items: Type.Array(PollSchema, { description: "the session's polls, newest first" }),
});

const text = (maxLength: number, description: string) =>
  Type.String({ minLength: 1, maxLength, description });

/** `POST /live/sessions/{id}/polls` */
export const CreatePollBody = Type.Object({
  question: text(POLL_QUESTION_MAX, 'what the host asks (blocked terms apply)'),
  options: Type.Array(text(POLL_OPTION_MAX, 'an answer (blocked terms apply)'), {
    minItems: POLL_MIN_OPTIONS,
    maxItems: POLL_MAX_OPTIONS,
    description: `${POLL_MIN_OPTIONS} to ${POLL_MAX_OPTIONS} answers, all different`,
  }),
  duration_seconds: Type.Integer({
    minimum: POLL_MIN_SECONDS,
    maximum: POLL_MAX_SECONDS,
    description: 'how long the poll stays open',
  }),
});
export type CreatePoll = Static<typeof CreatePollBody>;

/** `POST /live/sessions/{id}/polls/{poll_id}/votes` */
export const VoteBody = Type.Object({
  option: Type.Integer({ minimum: 0, maximum: POLL_MAX_OPTIONS - 1, description: "the option's index" }),
});

export const PollParams = Type.Object({
  session_id: Type.String({ maxLength: 64 }),
  poll_id: Type.String({ maxLength: 64 }),
});
