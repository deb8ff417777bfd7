/** What a value is, for error messages: JSON's vocabulary, so 'array' and 'null' are named. */
export function kind(value: unknown): string {
  if (value === null) return 'null';
  return Array.isArray(value) ? 'array' : typeof value;
}

/** Quotes a bad value briefly: error messages end up in logs and HTTP responses. */
export function brief(value: unknown): string {
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  if (typeof value !== 'string') return kind(value);
  return value.length > 80 ? `${JSON.stringify(value.slice(0, 80))}… (${value.length} chars)` : JSON.stringify(value);
}
