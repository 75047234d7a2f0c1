/**
 * Limits a client needs to know before it sends. Free of imports, so the web app bundles it as is.
 */

/** Characters (Unicode code points, as people count them) a comment may have after trimming. */
export const MAX_COMMENT_LENGTH = 1000;

/**
 * Characters as people count them (and PostgreSQL's char_length): Unicode code points, not UTF-16
 * units, so an emoji is one. The server and the web app's counter count with this one function.
 */
export function characterCount(text: string): number {
  let count = 0;
  for (const _ of text) count++;
  return count;
}
