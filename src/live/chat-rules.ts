import { sql, type Transaction } from 'kysely';
import type { Database, UserId } from '../db/schema.js';
import { foldTerms, type FoldedTerm } from './blocked-terms.js';

/**
 * How long an instance keeps a vendor's rules without reading them again even when their version
 * has not moved: the bound on a rule changed behind the API's back (an operator's SQL), which
 * bumps no version. Changes made through the API take effect on the next batch, everywhere.
 */
export const RULES_RECHECK_MS = 1000;

/** A vendor's chat rules as read at one version. */
export interface VendorRules {
  version: number;
  /** When they were read (the clock's ms). */
  readAt: number;
  /** Every ban not yet expired when read: user id → until (null: until lifted). */
  bans: Map<string, Date | null>;
  moderators: Set<string>;
  /** The blocked terms, folded once per read rather than per comment. */
  terms: FoldedTerm[];
}

/**
 * Each vendor's bans, moderators and blocked terms, kept per instance so that a batch of comments
 * reads none of them from the database while they have not changed. Whether they have is the
 * vendor's version (`chat_rules_versions`), which every change bumps in its own transaction and
 * which the batch reads in the statement that locks the session: a ban committed before that
 * statement is seen by it, exactly as when the rules themselves were read there.
 */
export class ChatRules {
  readonly #byVendor = new Map<string, VendorRules>();

  /**
   * The rules of `vendorId` at `version` (read in `trx` unless this instance holds them), as of
   * `now` (the clock's ms).
   */
  async at(trx: Transaction<Database>, vendorId: UserId, version: number, now: number): Promise<VendorRules> {
    const key = String(vendorId);
    const known = this.#byVendor.get(key);
    if (known && known.version === version && now - known.readAt < RULES_RECHECK_MS) return known;
    const rules = await readRules(trx, vendorId, version, now);
    // Oldest first out: the vendors chatting now stay.
    this.#byVendor.delete(key);
    if (this.#byVendor.size >= MAX_VENDORS) this.#byVendor.delete(this.#byVendor.keys().next().value!);
    this.#byVendor.set(key, rules);
    return rules;
  }
}

/** Vendors whose rules one instance keeps at most. */
const MAX_VENDORS = 10_000;

async function readRules(
  trx: Transaction<Database>,
  vendorId: UserId,
  version: number,
  now: number,
): Promise<VendorRules> {
  const row = await trx
    .selectNoFrom((eb) => [
      eb
        .selectFrom('bans as b')
        .select(
          sql<
            { user_id: UserId; until: string | null }[] | null
          >`json_agg(json_build_object('user_id', b.user_id, 'until', b.until))`.as('bans'),
        )
        .where('b.vendor_id', '=', vendorId)
        .where((w) => w.or([w('b.until', 'is', null), w('b.until', '>', new Date(now))]))
        .as('bans'),
      eb
        .selectFrom('moderators as m')
        .select(sql<UserId[] | null>`json_agg(m.user_id)`.as('moderators'))
        .where('m.vendor_id', '=', vendorId)
        .as('moderators'),
      eb
        .selectFrom('blocked_terms as t')
        .select(sql<string[]>`coalesce(array_agg(t.term), '{}')`.as('terms'))
        .where('t.vendor_id', '=', vendorId)
        .as('terms'),
    ])
    .executeTakeFirstOrThrow();
  return {
    version,
    readAt: now,
    bans: new Map((row.bans ?? []).map((b) => [String(b.user_id), b.until ? new Date(b.until) : null])),
    moderators: new Set((row.moderators ?? []).map(String)),
    terms: foldTerms(row.terms ?? []),
  };
}

/**
 * Records a change to `vendorId`'s rules in `trx`, the transaction that makes it: every instance's
 * next batch for the vendor's sessions reads the rules again.
 */
export async function bumpRulesVersion(trx: Transaction<Database>, vendorId: UserId): Promise<void> {
  await trx
    .insertInto('chat_rules_versions')
    .values({ vendor_id: vendorId, version: 1 })
    .onConflict((oc) =>
      oc.column('vendor_id').doUpdateSet({ version: sql<number>`chat_rules_versions.version + 1` }),
    )
    .execute();
}
