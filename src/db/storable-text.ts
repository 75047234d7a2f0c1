/**
 * PostgreSQL's text is UTF-8 without NUL: it refuses U+0000 outright, and a UTF-16 surrogate
 * with no partner has no UTF-8 form at all (it would be stored as U+FFFD, silently changed).
 */
// eslint-disable-next-line no-control-regex -- NUL is exactly the character to find
const UNSTORABLE = /\u0000|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/**
 * Why `text` cannot be stored as it is, in words for the person who sent it; undefined when it can.
 */
export function unstorableText(text: string): string | undefined {
  const match = UNSTORABLE.exec(text);
  if (!match) return undefined;
  if (match[0] === '\u0000') return 'must not contain the NUL character (U+0000)';
  const code = match[0].charCodeAt(0).toString(16).toUpperCase();
  return `must not contain an unpaired UTF-16 surrogate (U+${code}); send valid Unicode text`;
}

/** The first string in a JSON value that cannot be stored: its path and the reason. */
export function findUnstorableText(
  value: unknown,
  path: (string | number)[] = [],
): { path: (string | number)[]; reason: string } | undefined {
  if (typeof value === 'string') {
    const reason = unstorableText(value);
    return reason ? { path, reason } : undefined;
  }
  if (typeof value !== 'object' || value === null) return undefined;
  for (const [key, item] of Object.entries(value)) {
    const found = findUnstorableText(item, [...path, Array.isArray(value) ? Number(key) : key]);
    if (found) return found;
  }
  return undefined;
}
