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

/** kSigning = HMAC(HMAC(HMAC(HMAC("AWS4" + secret, date), region), service), "aws4_request"). */
export function signingKey(secret: string, scope: CredentialScope): Buffer {
  const kDate = hmac(`AWS4${secret}`, scope.date);
  const kRegion = hmac(kDate, scope.region);
  const kService = hmac(kRegion, scope.service);
  return hmac(kService, 'aws4_request');
}

export function signature(key: Buffer, toSign: string): string {
  return createHmac('sha256', key).update(toSign, 'utf8').digest('hex');
}
