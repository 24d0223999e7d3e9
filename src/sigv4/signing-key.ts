import { createHmac } from 'node:crypto';

export interface CredentialScope {
  /** YYYYMMDD */
  date: string;
  region: string;
  service: string;
}

export function scopeString(s: CredentialScope): string {
  return `${s.date}/${s.region}/${s.service}/aws4_request`;
}

export function hmac(key: Buffer | string, data: string): Buffer {
  return createHmac('sha256', key).update(data, 'utf8').digest();
}

/**
 * Derived keys by secret and scope. A key is good for a day and every request
 * of that day derives the same one: four HMACs a request otherwise. Keyed by
 * the secret itself, so a changed secret never finds an old key; emptied when
 * full rather than kept in order, since a server sees few keys in a day.
 */
const derived = new Map<string, Buffer>();
const DERIVED_KEPT = 256;

/** kSigning = HMAC(HMAC(HMAC(HMAC("AWS4" + secret, date), region), service), "aws4_request"). */
export function signingKey(secret: string, scope: CredentialScope): Buffer {
  const id = `${scope.date}\n${scope.region}\n${scope.service}\n${secret}`;
  const known = derived.get(id);
  if (known) return known;
  const kDate = hmac(`AWS4${secret}`, scope.date);
  const kRegion = hmac(kDate, scope.region);
  const kService = hmac(kRegion, scope.service);
  const key = hmac(kService, 'aws4_request');
  if (derived.size >= DERIVED_KEPT) derived.clear();
  derived.set(id, key);
  return key;
}

export function signature(key: Buffer, toSign: string): string {
  return createHmac('sha256', key).update(toSign, 'utf8').digest('hex');
}
