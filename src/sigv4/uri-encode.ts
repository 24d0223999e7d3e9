/**
 * SigV4's URI encoding: every byte of the UTF-8 form except the unreserved
 * characters (A-Z a-z 0-9 - _ . ~) becomes %XX, uppercase. A slash is kept in
 * paths and encoded in query strings.
 */
export function uriEncode(value: string, encodeSlash: boolean): string {
  let out = '';
  for (const byte of Buffer.from(value, 'utf8')) {
    if (
      (byte >= 0x41 && byte <= 0x5a) ||
      (byte >= 0x61 && byte <= 0x7a) ||
      (byte >= 0x30 && byte <= 0x39) ||
      byte === 0x2d ||
      byte === 0x5f ||
      byte === 0x2e ||
      byte === 0x7e ||
      (byte === 0x2f && !encodeSlash)
    ) {
      out += String.fromCharCode(byte);
    } else {
      out += `%${byte.toString(16).toUpperCase().padStart(2, '0')}`;
    }
  }
  return out;
}

/**
 * Decodes %XX escapes as UTF-8. Malformed escapes are an error (a request with
 * one cannot have been signed by a correct client).
 */
export function percentDecode(value: string): string {
  if (!value.includes('%')) return value;
  return decodeURIComponent(value);
}
