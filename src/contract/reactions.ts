/**
 * Reactions: what viewers send besides comments (a heart, a laugh), lossy by design and
 * aggregated, so that ten thousand viewers tapping cost the fan-out of one: a tap is never a
 * frame of its own. Every instance adds up the taps it receives and every viewer hears at most
 * one `reactions` event per REACTIONS_WINDOW_MS with the counts of that window, summed over the
 * instances. Totals per kind are kept, never a row per tap.
 */
import { Type, type Static } from 'typebox';

const count = (description: string) => Type.Integer({ minimum: 0, description });

/** Every kind with its count, zeros included: `session_info`'s `reactions_total`, the stats. */
export const ReactionTotalsSchema = Type.Object(
  {
    heart: count('hearts'),
    laugh: count('laughs'),
    wow: count('wows'),
    clap: count('claps'),
    fire: count('fires'),
  },
  { description: 'reactions per kind' },
);
export type ReactionTotals = Static<typeof ReactionTotalsSchema>;
export type ReactionKind = keyof ReactionTotals;

/** The kinds a viewer may send, in the order clients show them. */
export const REACTION_KINDS = Object.keys(ReactionTotalsSchema.properties) as ReactionKind[];

/** A window's counts: kinds nobody sent in it are left out. */
export type ReactionCounts = Partial<ReactionTotals>;

/** Taps one user counts per second on one instance; the rest are dropped without an error. */
export const REACTIONS_PER_USER_PER_SECOND = 10;

/** The least time between two `reactions` events on one connection. */
export const REACTIONS_WINDOW_MS = 1000;

export const ReactionKindSchema = Type.Union(
  REACTION_KINDS.map((kind) => Type.Literal(kind)),
  { description: `one of ${REACTION_KINDS.join(', ')}` },
);

/** `POST /live/sessions/{id}/reactions` */
export const ReactionBody = Type.Object({ kind: ReactionKindSchema });

export function isReactionKind(value: unknown): value is ReactionKind {
  return typeof value === 'string' && (REACTION_KINDS as readonly string[]).includes(value);
}

/** Every kind's total from counts that may leave kinds out. */
export function totalsOf(counts: ReactionCounts): ReactionTotals {
  return {
    heart: counts.heart ?? 0,
    laugh: counts.laugh ?? 0,
    wow: counts.wow ?? 0,
    clap: counts.clap ?? 0,
    fire: counts.fire ?? 0,
  };
}
