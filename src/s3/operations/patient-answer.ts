import type { S3Call } from '../s3-context.js';
import { errorDocument, logRefusal, requestPath, toS3Error } from '../s3-errors.js';
import { sendXml } from './responses.js';

const XML_DECLARATION = '<?xml version="1.0" encoding="UTF-8"?>\n';
/** Well inside clients' read timeouts (the AWS CLI's is 60 s) and the server's idle timeout. */
const KEEP_ALIVE_EVERY_MS = 5_000;

/**
 * Answers 200 with the XML document `work` makes. Work that may outlast a
 * client's read timeout (completing a large multipart upload: its seams are
 * read back and re-cut) is answered as S3 answers it: if it has not finished
 * within `patienceMs`, the 200 and the XML declaration go out, then a space
 * every few seconds, then the document. An error after that point can only go
 * in the 200's body, as an Error document; the AWS SDKs and the CLI look for
 * one there in a CompleteMultipartUpload answer.
 */
export async function answerPatiently(call: S3Call, work: Promise<string>, patienceMs: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  let immediate: NodeJS.Immediate | undefined;
  const early = await Promise.race([
    work.then(
      (body) => ({ body }),
      (err: unknown) => ({ err }),
    ),
    new Promise<null>((resolve) => {
      // No patience means none: a timer of 0 ms can lose to a small completion, while setImmediate
      // lets through only what is known without I/O (a refusal of the request itself).
      if (patienceMs <= 0) immediate = setImmediate(() => resolve(null));
      else timer = setTimeout(() => resolve(null), patienceMs);
    }),
  ]);
  clearTimeout(timer);
  clearImmediate(immediate);
  if (early) {
    if ('err' in early) throw early.err;
    sendXml(call, 200, early.body);
    return;
  }
  const { reply, req } = call;
  reply.hijack();
  const raw = reply.raw;
  for (const [name, value] of Object.entries(reply.getHeaders())) if (value !== undefined) raw.setHeader(name, value);
  raw.setHeader('content-type', 'application/xml');
  raw.writeHead(200);
  raw.write(XML_DECLARATION);
  const beat = setInterval(() => {
    if (!raw.destroyed) raw.write(' ');
  }, KEEP_ALIVE_EVERY_MS);
  let body: string;
  try {
    body = await work;
  } catch (err) {
    const e = toS3Error(err);
    logRefusal(req, e, err);
    body = errorDocument(e, requestPath(req), req.id);
  } finally {
    clearInterval(beat);
  }
  raw.end(body.startsWith(XML_DECLARATION) ? body.slice(XML_DECLARATION.length) : body);
}
