/**
 * Limits a client needs to know before it sends. Free of imports, so the web app bundles it as is.
 */

/** Characters (Unicode code points, as people count them) a comment may have after trimming. */
export const MAX_COMMENT_LENGTH = 1000;
