/** Builds aws-chunked bodies as clients do, for the decoder tests. */
export function unsignedChunked(pieces: Buffer[], trailers: [string, string][]): Buffer {
  const parts: Buffer[] = [];
  for (const p of pieces) parts.push(Buffer.from(`${p.length.toString(16)}\r\n`), p, Buffer.from('\r\n'));
  parts.push(Buffer.from('0\r\n'));
  for (const [n, v] of trailers) parts.push(Buffer.from(`${n}:${v}\r\n`));
  parts.push(Buffer.from('\r\n'));
  return Buffer.concat(parts);
}
