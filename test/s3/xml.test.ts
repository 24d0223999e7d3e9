import t from 'tap';
import { document, escapeXml, parseXml } from '../../src/s3/xml.js';

t.test('request documents: numeric references decode once; DTDs and broken XML are refused', async (t) => {
  const parsed = parseXml(Buffer.from('<CompleteMultipartUpload><Part><PartNumber>1</PartNumber><ETag>&#34;abc&#34;</ETag></Part></CompleteMultipartUpload>')) as {
    CompleteMultipartUpload: { Part: { ETag: string }[] };
  };
  t.equal(parsed.CompleteMultipartUpload.Part[0]!.ETag, '"abc"', 'Go writes quotes as &#34;');
  const literal = parseXml(Buffer.from('<Delete><Object><Key>a&amp;#34;b &amp;lt;</Key></Object></Delete>')) as { Delete: { Object: { Key: string }[] } };
  t.equal(literal.Delete.Object[0]!.Key, 'a&#34;b &lt;', 'an escaped ampersand is not decoded twice');
  t.throws(() => parseXml(Buffer.from('<!DOCTYPE x [<!ENTITY e "boom">]><Delete/>')), { code: 'MalformedXML' });
  t.throws(() => parseXml(Buffer.from('<Delete><Object>')), { code: 'MalformedXML' });
  t.throws(() => parseXml(Buffer.from('not xml at all')), { code: 'MalformedXML' });
});

t.test('answers escape what they carry', async (t) => {
  t.equal(escapeXml(`<a & "b" 'c'>`), '&lt;a &amp; &quot;b&quot; &apos;c&apos;&gt;');
  const doc = document('ListBucketResult', [['Key', 'a<b&c'], null, false, ['Size', 3]]);
  t.equal(document('VersioningConfiguration', []), '<?xml version="1.0" encoding="UTF-8"?>\n<VersioningConfiguration xmlns="http://s3.amazonaws.com/doc/2006-03-01/"/>');
  t.equal(doc, '<?xml version="1.0" encoding="UTF-8"?>\n<ListBucketResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Key>a&lt;b&amp;c</Key><Size>3</Size></ListBucketResult>');
});
