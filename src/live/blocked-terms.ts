/**
 * Matching a vendor's blocked terms against comments, so look-alikes do not slip through:
 * both sides are folded the same way (compatibility normalization turns full-width and other
 * width or font variants into plain letters, combining marks are dropped, letter case is folded),
 * then a term matches as whole words: "ass" is refused alone but "class" and "passage" are not.
 * Invisible characters are removed before anything else: a zero-width space or a soft hyphen
 * inside "scam" renders as "scam", so it must match as "scam", not as two words.
 */

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

/**
 * The first of `terms` that `message` contains as whole words (after folding both), or undefined.
 * Terms of several words match those words in sequence.
 */
export function findBlockedTerm(message: string, terms: readonly string[]): string | undefined {
  if (terms.length === 0) return undefined;
  const text = ` ${foldForMatching(message)} `;
  for (const term of terms) {
    const folded = foldForMatching(term);
    if (folded && text.includes(` ${folded} `)) return term;
  }
  return undefined;
}
