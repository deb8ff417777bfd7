import { isLxchunkError } from '@lxchunk/errors';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { dispositionParams, multipartBody, multipartBoundary, readMultipart, type MultipartEvent } from '../src/multipart.js';

async function collect(stream: AsyncIterable<Uint8Array>): Promise<Buffer> {
  const pieces: Buffer[] = [];
  for await (const piece of stream) pieces.push(Buffer.from(piece));
  return Buffer.concat(pieces);
}

async function* pieces(data: Buffer, sizes: () => number): AsyncGenerator<Buffer> {
  for (let offset = 0; offset < data.length; ) {
    const size = Math.max(1, sizes());
    yield data.subarray(offset, offset + size);
    offset += size;
  }
}

interface Parsed {
  name: string | undefined;
  filename: string | undefined;
  data: Buffer;
}

async function parse(source: AsyncIterable<Uint8Array>, boundary: string): Promise<Parsed[]> {
  const parts: Parsed[] = [];
  const chunks: Buffer[] = [];
  let open = false;
  for await (const event of readMultipart(source, boundary) as AsyncGenerator<MultipartEvent>) {
    if (event.kind === 'part') {
      assert.ok(!open);
      open = true;
      parts.push({ name: event.part.name, filename: event.part.filename, data: Buffer.alloc(0) });
      chunks.length = 0;
    } else if (event.kind === 'data') {
      chunks.push(Buffer.from(event.data));
    } else {
      parts[parts.length - 1]!.data = Buffer.concat(chunks);
      open = false;
    }
  }
  assert.ok(!open, 'a part was left open');
  return parts;
}

describe('multipart', function () {
  let dir: string;
  let meta: Buffer;
  let rootfs: Buffer;

  before(async function () {
    dir = await mkdtemp(join(tmpdir(), 'lxchunk-multipart-'));
    meta = randomBytes(3000);
    // Bytes that look like the start of delimiters, to tempt the parser.
    rootfs = Buffer.concat([randomBytes(100_000), Buffer.from('\r\n--lxchunk-\r\n--'), randomBytes(70_000), Buffer.from('\r\n-')]);
    await writeFile(join(dir, 'metadata.tar.xz'), meta);
    await writeFile(join(dir, 'rootfs.squashfs'), rootfs);
  });

  after(async function () {
    await rm(dir, { recursive: true, force: true });
  });

  const files = () => [
    { name: 'metadata', filename: 'metadata.tar.xz', path: join(dir, 'metadata.tar.xz'), size: meta.length },
    { name: 'rootfs.img', filename: 'we"ird\\name.img', path: join(dir, 'rootfs.squashfs'), size: rootfs.length },
  ];

  it('streams files as a multipart body of the announced length that parses back, however it is split', async function () {
    const body = multipartBody(files(), undefined, 4096);
    const boundary = multipartBoundary(body.contentType);
    assert.ok(boundary);
    const bytes = await collect(body.stream);
    assert.equal(bytes.length, body.contentLength);
    assert.ok(bytes.subarray(0, 2 + boundary.length).equals(Buffer.from(`--${boundary}`)));

    for (const sizes of [() => 1, () => 7, () => 65536, () => Math.floor(Math.random() * 3000)]) {
      const parts = await parse(pieces(bytes, sizes), boundary);
      assert.deepEqual(
        parts.map((p) => [p.name, p.filename]),
        [
          ['metadata', 'metadata.tar.xz'],
          ['rootfs.img', 'we"ird\\name.img'],
        ],
      );
      assert.ok(parts[0]!.data.equals(meta));
      assert.ok(parts[1]!.data.equals(rootfs));
    }
  });

  it('fails the body when a file changed size since it was planned', async function () {
    const planned = files().map((f, i) => (i === 1 ? { ...f, size: f.size - 1 } : f));
    await assert.rejects(collect(multipartBody(planned).stream), (err: unknown) => isLxchunkError(err, 'INVALID_INPUT'));
  });

  it('reads what LXD 5.0 sends: a preamble-less body whose close delimiter comes twice', async function () {
    const b = '62d7bbb0a851a1';
    const text =
      `--${b}\r\nContent-Disposition: form-data; name="metadata"; filename="meta-x.tar.xz"\r\nContent-Type: application/octet-stream\r\n\r\nMETA` +
      `\r\n--${b}\r\nContent-Disposition: form-data; name="rootfs"; filename="x.squashfs"\r\nContent-Type: application/octet-stream\r\n\r\nROOT\r\nFS` +
      `\r\n--${b}--\r\n\r\n--${b}--\r\n`;
    const parts = await parse(pieces(Buffer.from(text), () => 3), b);
    assert.deepEqual(
      parts.map((p) => [p.name, p.filename, p.data.toString()]),
      [
        ['metadata', 'meta-x.tar.xz', 'META'],
        ['rootfs', 'x.squashfs', 'ROOT\r\nFS'],
      ],
    );
  });

  it('accepts a preamble and an empty part', async function () {
    const text = `preamble\r\n--B\r\nContent-Disposition: form-data; name="a"\r\n\r\n\r\n--B\r\n\r\nxyz\r\n--B--`;
    const parts = await parse(pieces(Buffer.from(text), () => 5), 'B');
    assert.deepEqual(
      parts.map((p) => [p.name, p.data.toString()]),
      [
        ['a', ''],
        [undefined, 'xyz'],
      ],
    );
  });

  it('reports a truncated body as PROTOCOL_ERROR', async function () {
    const text = `--B\r\nContent-Disposition: form-data; name="metadata"\r\n\r\nsome bytes but no end`;
    await assert.rejects(parse(pieces(Buffer.from(text), () => 4), 'B'), (err: unknown) => isLxchunkError(err, 'PROTOCOL_ERROR'));
    await assert.rejects(parse(pieces(Buffer.from('no delimiter at all'), () => 4), 'B'), (err: unknown) => isLxchunkError(err, 'PROTOCOL_ERROR'));
  });

  it('parses Content-Type and Content-Disposition parameters', function () {
    assert.equal(multipartBoundary('multipart/form-data; boundary=abc123'), 'abc123');
    assert.equal(multipartBoundary('multipart/form-data; boundary="a b"'), 'a b');
    assert.equal(multipartBoundary('application/octet-stream'), undefined);
    assert.deepEqual(dispositionParams('attachment; filename=x.tar.xz'), { filename: 'x.tar.xz' });
    assert.deepEqual(dispositionParams('form-data; name="rootfs"; filename="a\\"b"'), { name: 'rootfs', filename: 'a"b' });
  });
});
