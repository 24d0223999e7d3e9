import { statSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { signedFetch, startTestServer } from '../helpers/server.js';

t.test('only a signed admin key gets in; everyone else gets the same 403', async (t) => {
  const s = await startTestServer(t);
  const created = await signedFetch(s.url, 'POST', '/admin/v1/units', s.admin, {
    body: JSON.stringify({ name: 'unit-a' }),
    headers: { 'content-type': 'application/json' },
  });
  t.equal(created.status, 201, 'an admin creates a unit');
  const unitKey = await signedFetch(s.url, 'POST', '/admin/v1/keys', s.admin, {
    body: JSON.stringify({ grants: [{ unit: 'unit-a', access: 'read-write' }] }),
    headers: { 'content-type': 'application/json' },
  });
  t.equal(unitKey.status, 201);
  const k = unitKey.json as { accessKeyId: string; secretAccessKey: string };
  const wrongSecret = { accessKeyId: s.admin.accessKeyId, secretAccessKey: 'x'.repeat(40) };
  const unknown = { accessKeyId: 'CKNOSUCHKEY000000000', secretAccessKey: 'y'.repeat(40) };
  const refusals = await Promise.all([
    signedFetch(s.url, 'GET', '/admin/v1/units', null),
    signedFetch(s.url, 'GET', '/admin/v1/units', { accessKeyId: k.accessKeyId, secretAccessKey: k.secretAccessKey }),
    signedFetch(s.url, 'GET', '/admin/v1/units', wrongSecret),
    signedFetch(s.url, 'GET', '/admin/v1/units', unknown),
    signedFetch(s.url, 'GET', '/admin/v1/nonexistent', null),
    signedFetch(s.url, 'GET', '/admin/v1/openapi.json', null),
  ]);
  for (const r of refusals) {
    t.equal(r.status, 403);
    t.same(r.json, { type: 'urn:cairn:problem:access-denied', title: 'Forbidden', status: 403, detail: 'access denied' }, 'and learns nothing');
  }
  const revoke = await signedFetch(s.url, 'DELETE', `/admin/v1/keys/${s.admin.accessKeyId}`, s.admin);
  t.equal(revoke.status, 204, 'an admin key can revoke itself');
  t.equal((await signedFetch(s.url, 'GET', '/admin/v1/units', s.admin)).status, 403, 'and is refused at once');
});

t.test('bad input gets a clear 4xx and changes nothing', async (t) => {
  const s = await startTestServer(t);
  const json = { 'content-type': 'application/json' };
  const post = (path: string, body: string, extra: Record<string, string> = {}) =>
    signedFetch(s.url, 'POST', path, s.admin, { body, headers: { ...json, ...extra } });
  const cases: [string, Promise<{ status: number; json: unknown }>, number, RegExp][] = [
    ['invalid unit name (capitals)', post('/admin/v1/units', JSON.stringify({ name: 'Backups' })), 400, /lowercase/],
    ['invalid unit name (too short)', post('/admin/v1/units', JSON.stringify({ name: 'ab' })), 400, /3 to 63/],
    ['invalid unit name (IP address)', post('/admin/v1/units', JSON.stringify({ name: '192.168.1.1' })), 400, /IP address/],
    ['invalid unit name (double dot)', post('/admin/v1/units', JSON.stringify({ name: 'a..b' })), 400, /two dots/],
    ['unknown field', post('/admin/v1/units', JSON.stringify({ name: 'fine', colour: 'red' })), 400, /additional/],
    ['wrong type', post('/admin/v1/units', JSON.stringify({ name: 'fine', quota: { hard: 'lots' } })), 400, /integer|null/],
    ['malformed JSON', post('/admin/v1/units', '{"name": "fine"'), 400, /JSON/],
    ['oversized body', post('/admin/v1/units', JSON.stringify({ name: 'fine', pad: 'x'.repeat(200_000) })), 413, /too large|limit/i],
    ['not JSON', signedFetch(s.url, 'POST', '/admin/v1/units', s.admin, { body: 'name=fine', headers: { 'content-type': 'application/x-www-form-urlencoded' } }), 415, /media type|content-type/i],
    ['body that is not what was signed', signedFetch(s.url, 'POST', '/admin/v1/units', s.admin, { body: JSON.stringify({ name: 'fine' }), headers: json, payloadHash: 'a'.repeat(64) }), 400, /x-amz-content-sha256/],
    ['soft above hard', post('/admin/v1/units', JSON.stringify({ name: 'fine', quota: { soft: 10, hard: 5 } })), 400, /soft/],
    ['chunk size not a power of two', post('/admin/v1/units', JSON.stringify({ name: 'fine', avgChunkSize: 10000 })), 400, /power of two/],
    ['key without grants', post('/admin/v1/keys', JSON.stringify({})), 400, /grant/],
    ['key on a unit that does not exist', post('/admin/v1/keys', JSON.stringify({ grants: [{ unit: 'ghost', access: 'read-write' }] })), 404, /ghost/],
    ['bad access mode', post('/admin/v1/keys', JSON.stringify({ grants: [{ unit: 'ghost', access: 'everything' }] })), 400, /allowed values|must be equal/],
  ];
  for (const [name, answer, status, detail] of cases) {
    const r = await answer;
    t.equal(r.status, status, `${name}: ${status}`);
    t.match((r.json as { detail?: string } | undefined)?.detail ?? '', detail, `${name}: says why`);
  }
  const units = await signedFetch(s.url, 'GET', '/admin/v1/units', s.admin);
  t.same((units.json as { units: unknown[] }).units, [], 'no unit was created');
  const keys = await signedFetch(s.url, 'GET', '/admin/v1/keys', s.admin);
  t.equal((keys.json as { keys: unknown[] }).keys.length, 1, 'no key was issued');
  t.equal((await signedFetch(s.url, 'GET', '/admin/v1/units/nope', s.admin)).status, 404);
  t.equal((await signedFetch(s.url, 'DELETE', '/admin/v1/keys/CKNOPE', s.admin)).status, 404);
  t.equal((await signedFetch(s.url, 'GET', '/admin/v1/jobs/nope', s.admin)).status, 404);
});

t.test('keys list without secrets; the secrets file and key file are owner-only', async (t) => {
  const s = await startTestServer(t);
  for (const f of ['master.key', 'admin-credentials', 'system.db']) {
    t.equal(statSync(join(s.dataDir, f)).mode & 0o777, 0o600, `${f} is 0600`);
  }
  const keys = await signedFetch(s.url, 'GET', '/admin/v1/keys', s.admin);
  t.notMatch(keys.text, s.admin.secretAccessKey, 'no secret in the listing');
  t.notMatch(keys.text, /secret/i);
});

t.test('OpenAPI document and metrics', async (t) => {
  const s = await startTestServer(t, { CAIRN_METRICS_TOKEN: 'scrape-me' });
  await signedFetch(s.url, 'POST', '/admin/v1/units', s.admin, { body: JSON.stringify({ name: 'metered' }), headers: { 'content-type': 'application/json' } });
  const doc = await signedFetch(s.url, 'GET', '/admin/v1/openapi.json', s.admin);
  t.equal(doc.status, 200);
  const paths = Object.keys((doc.json as { paths: Record<string, unknown> }).paths);
  for (const p of ['/admin/v1/units', '/admin/v1/units/{name}', '/admin/v1/units/{name}/quota', '/admin/v1/keys', '/admin/v1/keys/{id}', '/admin/v1/stats', '/admin/v1/units/{name}/verify', '/admin/v1/jobs/{id}']) {
    t.ok(paths.includes(p), `documents ${p}`);
  }
  t.equal((await fetch(`${s.url}/metrics`)).status, 403, 'metrics are not public');
  const byToken = await fetch(`${s.url}/metrics`, { headers: { authorization: 'Bearer scrape-me' } });
  t.equal(byToken.status, 200);
  const text = await byToken.text();
  t.match(text, /cairn_unit_logical_bytes\{unit="metered"\} 0/);
  t.match(text, /cairn_requests_total\{face="admin"/);
  t.match(text, /cairn_request_duration_seconds_bucket/);
  const bySignature = await signedFetch(s.url, 'GET', '/metrics', s.admin);
  t.equal(bySignature.status, 200, 'or with an admin signature');
  t.equal((await fetch(`${s.url}/metrics`, { headers: { authorization: 'Bearer wrong' } })).status, 403);
});

t.test('a scrape reads each unit once, and ListBuckets reads no statistics', async (t) => {
  const s = await startTestServer(t, { CAIRN_METRICS_TOKEN: 'scrape-me' });
  const units = s.server.units;
  await units.create('one');
  await units.create('two');
  await units.unit('two').put('k', (async function* () {
    yield Buffer.from('twelve bytes');
  })());
  // A unit's figures sum its containers table, a scan that grows with the unit: twelve gauges
  // asking for them one by one made a scrape twelve scans a unit.
  const info = units.info.bind(units);
  const asked: string[] = [];
  units.info = (name: string) => {
    asked.push(name);
    return info(name);
  };
  t.teardown(() => {
    units.info = info;
  });
  const text = await (await fetch(`${s.url}/metrics`, { headers: { authorization: 'Bearer scrape-me' } })).text();
  t.same(asked.sort(), ['one', 'two'], 'one read a unit');
  t.match(text, /cairn_unit_logical_bytes\{unit="two"\} 12/);
  t.match(text, /cairn_unit_objects\{unit="two"\} 1/);
  t.match(text, /cairn_unit_quota_exceeded\{unit="one"\} 0/);
  await fetch(`${s.url}/metrics`, { headers: { authorization: 'Bearer scrape-me' } });
  t.equal(asked.length, 4, 'and again at the next scrape, not from a stale copy');

  units.info = () => {
    throw new Error('info() in ListBuckets');
  };
  const listed = await signedFetch(s.url, 'GET', '/', s.admin);
  t.equal(listed.status, 200);
  t.match(listed.text, /<Name>one<\/Name><CreationDate>\d{4}-\d\d-\d\dT[\d:.]+Z<\/CreationDate>/);
});
