import { createHash } from 'node:crypto';
import type { S3Call } from '../s3-context.js';
import type { Node } from '../xml.js';

export function sendXml(call: S3Call, status: number, body: string): void {
  call.reply.code(status).type('application/xml').send(body);
}

/** The owner S3 documents show: stable per access key, revealing nothing. */
export function owner(accessKeyId: string): Node[] {
  return [
    ['ID', createHash('sha256').update(`cairn-owner:${accessKeyId}`).digest('hex')],
    ['DisplayName', accessKeyId],
  ];
}

/** Percent-encodes a name for encoding-type=url answers: space as %20, plus as %2B, slash kept. */
export function urlEncodeName(s: string): string {
  return encodeURIComponent(s).replace(/%2F/g, '/').replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}
