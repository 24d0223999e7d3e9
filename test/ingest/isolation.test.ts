import t from 'tap';
import { fingerprint } from '../../src/chunking/fingerprint.js';
import { describeUnit, openSession, queryMissing } from '../../src/client/ingest-calls.js';
import { push } from '../../src/client/push.js';
import { ingestPaths } from '../../src/wire/messages.js';
import { textBytes } from '../helpers/data.js';
import { cutChunks, ingest, moverConnection } from '../helpers/ingest.js';
import { startS3Server } from '../helpers/s3.js';

t.test('a unit is a dedup domain: a key of unit A learns nothing about unit B', async (t) => {
  const s = await startS3Server(t);
  await s.server.units.create('tenant-a');
  await s.server.units.create('tenant-b');
  const keyA = s.server.credentials.issue('unit', [{ unit: 'tenant-a', access: 'read-write' }]);
  const a = { accessKeyId: keyA.accessKeyId, secretAccessKey: keyA.secretAccessKey };
  const admin = moverConnection(s.url, s.admin);
  const connA = moverConnection(s.url, a);
  t.teardown(() => {
    admin.close();
    connA.close();
  });

  // Unit B holds some data; A's key asks about exactly those chunks.
  const secret = textBytes('tenant-b-secret', 400_000);
  await push(admin, [secret], { unit: 'tenant-b', key: 'payroll.db' });
  // Cut exactly as unit B cuts, so a "present" answer would be a real leak.
  const desc = await describeUnit(admin, 'tenant-b');
  const fps = Buffer.concat(cutChunks(secret, desc.chunking).map((c) => fingerprint(c)));
  const session = (await openSession(connA, 'tenant-a', { key: 'probe' })).session;
  const missing = await queryMissing(connA, session, fps);
  t.ok(missing.every(Boolean), 'every chunk of unit B is missing as far as unit A is concerned');
  // ...while the admin, asking in unit B, is told they are there.
  const bSession = (await openSession(admin, 'tenant-b', { key: 'probe' })).session;
  t.ok((await queryMissing(admin, bSession, fps)).every((m) => !m));

  // Unit B itself: the same answer as a unit that does not exist.
  for (const unit of ['tenant-b', 'no-such-unit']) {
    const described = await ingest(s.url, a, 'GET', ingestPaths.unit(unit));
    t.equal(described.status, 404, `describe ${unit}`);
    t.match(described.json, { type: 'urn:cairn:problem:no-such-unit' });
    const opened = await ingest(s.url, a, 'POST', ingestPaths.sessions(unit), { json: { key: 'x' } });
    t.equal(opened.status, 404, `open a session in ${unit}`);
  }
  // A session belongs to the key that opened it.
  const stolen = await ingest(s.url, a, 'POST', ingestPaths.query(bSession), { frame: Buffer.alloc(0) });
  t.equal(stolen.status, 404, "another key's session does not exist for this key");
  t.equal(((await ingest(s.url, a, 'DELETE', ingestPaths.session(bSession))).status), 404);
});

t.test('a read-only key may describe its unit but not push into it; a revoked key is refused at once', async (t) => {
  const s = await startS3Server(t);
  await s.server.units.create('archive');
  const ro = s.server.credentials.issue('unit', [{ unit: 'archive', access: 'read-only' }]);
  const roCreds = { accessKeyId: ro.accessKeyId, secretAccessKey: ro.secretAccessKey };
  t.equal((await ingest(s.url, roCreds, 'GET', ingestPaths.unit('archive'))).status, 200);
  const opened = await ingest(s.url, roCreds, 'POST', ingestPaths.sessions('archive'), { json: { key: 'x' } });
  t.equal(opened.status, 403);
  t.match(opened.json, { type: 'urn:cairn:problem:access-denied' });

  const rw = s.server.credentials.issue('unit', [{ unit: 'archive', access: 'read-write' }]);
  const rwCreds = { accessKeyId: rw.accessKeyId, secretAccessKey: rw.secretAccessKey };
  const session = await ingest(s.url, rwCreds, 'POST', ingestPaths.sessions('archive'), { json: { key: 'x' } });
  t.equal(session.status, 201);
  s.server.credentials.revoke(rw.accessKeyId);
  const after = await ingest(s.url, rwCreds, 'POST', ingestPaths.commit((session.json as { session: string }).session), { json: { size: 0, chunks: 0 } });
  t.equal(after.status, 403, 'the session dies with its key');
});

t.test('one key cannot take every session of the server', async (t) => {
  const s = await startS3Server(t);
  await s.server.units.create('tenant-a');
  await s.server.units.create('tenant-b');
  const issue = (unit: string) => {
    const k = s.server.credentials.issue('unit', [{ unit, access: 'read-write' }]);
    return { accessKeyId: k.accessKeyId, secretAccessKey: k.secretAccessKey };
  };
  const a = issue('tenant-a');
  const b = issue('tenant-b');
  const open = (creds: typeof a, unit: string) => ingest(s.url, creds, 'POST', ingestPaths.sessions(unit), { json: { key: 'x' } });
  for (let i = 0; i < 64; i++) t.equal((await open(a, 'tenant-a')).status, 201);
  const refused = await open(a, 'tenant-a');
  t.equal(refused.status, 429, "past its share, a key's next session is refused");
  t.match(refused.json, { type: 'urn:cairn:problem:too-many-sessions' });
  t.equal(refused.headers.get('retry-after'), '30');
  t.equal((await open(b, 'tenant-b')).status, 201, 'another tenant still pushes');
});
