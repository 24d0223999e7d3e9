/**
 * A unit's name is its S3 bucket name, so it follows the bucket naming rules:
 * 3 to 63 characters of lowercase letters, digits, dots and hyphens, starting
 * and ending with a letter or digit, no two dots in a row, not shaped like an
 * IP address, none of the prefixes and suffixes S3 reserves.
 */
export function unitNameProblem(name: unknown): string | null {
  if (typeof name !== 'string') return 'the name must be a string';
  if (name.length < 3 || name.length > 63) return 'the name must be 3 to 63 characters long';
  if (!/^[a-z0-9][a-z0-9.-]*[a-z0-9]$/.test(name)) {
    return 'the name may hold only lowercase letters, digits, dots and hyphens, and must start and end with a letter or digit';
  }
  if (name.includes('..')) return 'the name may not hold two dots in a row';
  if (/^\d{1,3}(\.\d{1,3}){3}$/.test(name)) return 'the name may not look like an IP address';
  if (name.startsWith('xn--') || name.startsWith('sthree-')) return 'the name may not start with xn-- or sthree-';
  if (name.endsWith('-s3alias') || name.endsWith('--ol-s3')) return 'the name may not end with -s3alias or --ol-s3';
  // The server's own paths: a bucket of these names would be shadowed by them in path-style requests.
  if (name === 'admin' || name === 'metrics' || name === 'ingest') return `${name} is reserved`;
  return null;
}

export function isValidUnitName(name: unknown): name is string {
  return unitNameProblem(name) === null;
}
