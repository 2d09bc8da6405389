// vcs:uuid — the `uuid` package's API (v14: MAX, NIL, parse, stringify, v1, v1ToV6, v3, v4, v5,
// v6, v6ToV1, v7, validate, version). Random bytes come from the runtime's seeded Math.random
// and time from the video clock, so a recording renders the same every time.

export const NIL = '00000000-0000-0000-0000-000000000000';
export const MAX = 'ffffffff-ffff-ffff-ffff-ffffffffffff';

const PATTERN =
  /^(?:[0-9a-f]{8}-[0-9a-f]{4}-[1-8][0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}|00000000-0000-0000-0000-000000000000|ffffffff-ffff-ffff-ffff-ffffffffffff)$/i;

export function validate(uuid) {
  return typeof uuid === 'string' && PATTERN.test(uuid);
}

export function version(uuid) {
  if (!validate(uuid)) throw new TypeError('Invalid UUID');
  return parseInt(uuid.slice(14, 15), 16);
}

export function parse(uuid) {
  if (!validate(uuid)) throw new TypeError('Invalid UUID');
  const hex = uuid.replace(/-/g, '');
  const out = new Uint8Array(16);
  for (let i = 0; i < 16; i++) out[i] = parseInt(hex.slice(i * 2, i * 2 + 2), 16);
  return out;
}

function unsafeStringify(arr, offset = 0) {
  let s = '';
  for (let i = 0; i < 16; i++) {
    if (i === 4 || i === 6 || i === 8 || i === 10) s += '-';
    s += (arr[offset + i] + 0x100).toString(16).slice(1);
  }
  return s.toLowerCase();
}

export function stringify(arr, offset = 0) {
  const s = unsafeStringify(arr, offset);
  if (!validate(s)) throw new TypeError('Stringified UUID is invalid');
  return s;
}

function randomBytes() {
  const b = new Uint8Array(16);
  for (let i = 0; i < 16; i++) b[i] = (Math.random() * 256) | 0;
  return b;
}

// Writes the 16 bytes into `buf` at `offset` when given (returning buf), else returns the string.
function output(bytes, buf, offset = 0) {
  if (buf) {
    if (offset < 0 || offset + 16 > buf.length) {
      throw new RangeError('UUID byte range ' + offset + ':' + (offset + 15) + ' is out of buffer bounds');
    }
    for (let i = 0; i < 16; i++) buf[offset + i] = bytes[i];
    return buf;
  }
  return unsafeStringify(bytes);
}

export function v4(options, buf, offset) {
  const o = options || {};
  const rnds = o.random || (o.rng ? o.rng() : randomBytes());
  const b = Uint8Array.from(rnds.slice(0, 16));
  b[6] = (b[6] & 0x0f) | 0x40;
  b[8] = (b[8] & 0x3f) | 0x80;
  return output(b, buf, offset);
}

// v1 state: the last time and counter, so ids made in the same millisecond stay distinct.
const v1State = { msecs: -Infinity, nsecs: 0, clockseq: null, node: null };

export function v1(options, buf, offset) {
  const o = options || {};
  let msecs = o.msecs !== undefined ? o.msecs : Date.now();
  let nsecs = o.nsecs;
  if (!o.msecs && !o.nsecs) {
    if (msecs === v1State.msecs) {
      nsecs = ++v1State.nsecs;
      if (nsecs >= 10000) {
        nsecs = 0;
        msecs++;
      }
    } else nsecs = 0;
    v1State.msecs = msecs;
    v1State.nsecs = nsecs;
  }
  nsecs = nsecs || 0;
  const rnd = o.random || (o.rng ? o.rng() : randomBytes());
  if (v1State.node === null) v1State.node = [rnd[10] | 0x01, rnd[11], rnd[12], rnd[13], rnd[14], rnd[15]];
  if (v1State.clockseq === null) v1State.clockseq = ((rnd[8] << 8) | rnd[9]) & 0x3fff;
  const node = o.node || v1State.node;
  const clockseq = o.clockseq !== undefined ? o.clockseq : v1State.clockseq;
  const b = new Uint8Array(16);
  // 100-ns intervals since 1582-10-15: msecs + 12219292800000, split to keep within doubles.
  const ms = msecs + 12219292800000;
  const tl = ((ms & 0xfffffff) * 10000 + nsecs) % 0x100000000;
  b[0] = (tl >>> 24) & 0xff;
  b[1] = (tl >>> 16) & 0xff;
  b[2] = (tl >>> 8) & 0xff;
  b[3] = tl & 0xff;
  const tmh = ((ms / 0x100000000) * 10000) & 0xfffffff;
  b[4] = (tmh >>> 8) & 0xff;
  b[5] = tmh & 0xff;
  b[6] = ((tmh >>> 24) & 0xf) | 0x10;
  b[7] = (tmh >>> 16) & 0xff;
  b[8] = (clockseq >>> 8) | 0x80;
  b[9] = clockseq & 0xff;
  for (let i = 0; i < 6; i++) b[10 + i] = node[i];
  return output(b, buf, offset);
}

function reorder(bytes, toV6) {
  // The 60-bit timestamp is low-mid-high in v1 and high-mid-low (most significant first) in v6.
  const h = unsafeStringify(bytes).replace(/-/g, '');
  const ts = toV6 ? h.slice(13, 16) + h.slice(8, 12) + h.slice(0, 8) : h.slice(0, 12) + h.slice(13, 16);
  const hex = toV6
    ? ts.slice(0, 12) + '6' + ts.slice(12) + h.slice(16)
    : ts.slice(7) + ts.slice(3, 7) + '1' + ts.slice(0, 3) + h.slice(16);
  const out = new Uint8Array(16);
  for (let i = 0; i < 16; i++) out[i] = parseInt(hex.slice(i * 2, i * 2 + 2), 16);
  return out;
}

export function v1ToV6(uuid) {
  const bytes = typeof uuid === 'string' ? parse(uuid) : uuid;
  const out = reorder(bytes, true);
  return typeof uuid === 'string' ? unsafeStringify(out) : out;
}

export function v6ToV1(uuid) {
  const bytes = typeof uuid === 'string' ? parse(uuid) : uuid;
  const out = reorder(bytes, false);
  return typeof uuid === 'string' ? unsafeStringify(out) : out;
}

export function v6(options, buf, offset) {
  const bytes = reorder(parse(v1(options)), true);
  return output(bytes, buf, offset);
}

export function v7(options, buf, offset) {
  const o = options || {};
  const msecs = o.msecs !== undefined ? o.msecs : Date.now();
  const rnd = o.random || (o.rng ? o.rng() : randomBytes());
  const b = Uint8Array.from(rnd.slice(0, 16));
  const hi = Math.floor(msecs / 0x100000000);
  const lo = msecs % 0x100000000;
  b[0] = (hi >>> 8) & 0xff;
  b[1] = hi & 0xff;
  b[2] = (lo >>> 24) & 0xff;
  b[3] = (lo >>> 16) & 0xff;
  b[4] = (lo >>> 8) & 0xff;
  b[5] = lo & 0xff;
  b[6] = (b[6] & 0x0f) | 0x70;
  b[8] = (b[8] & 0x3f) | 0x80;
  return output(b, buf, offset);
}

function utf8(s) {
  const out = [];
  for (const ch of s) {
    const c = ch.codePointAt(0);
    if (c < 0x80) out.push(c);
    else if (c < 0x800) out.push(0xc0 | (c >> 6), 0x80 | (c & 63));
    else if (c < 0x10000) out.push(0xe0 | (c >> 12), 0x80 | ((c >> 6) & 63), 0x80 | (c & 63));
    else out.push(0xf0 | (c >> 18), 0x80 | ((c >> 12) & 63), 0x80 | ((c >> 6) & 63), 0x80 | (c & 63));
  }
  return out;
}

const rotl = (x, n) => (x << n) | (x >>> (32 - n));

// MD5 (RFC 1321) of a byte array, for v3.
function md5(bytes) {
  const K = [];
  for (let i = 0; i < 64; i++) K[i] = Math.floor(Math.abs(Math.sin(i + 1)) * 0x100000000) | 0;
  const S = [7, 12, 17, 22, 5, 9, 14, 20, 4, 11, 16, 23, 6, 10, 15, 21];
  const msg = bytes.slice();
  const bitLen = bytes.length * 8;
  msg.push(0x80);
  while (msg.length % 64 !== 56) msg.push(0);
  for (let i = 0; i < 8; i++) msg.push(i < 4 ? (bitLen >>> (8 * i)) & 0xff : 0);
  let [a0, b0, c0, d0] = [0x67452301, 0xefcdab89, 0x98badcfe, 0x10325476];
  for (let off = 0; off < msg.length; off += 64) {
    const M = [];
    for (let i = 0; i < 16; i++) {
      const j = off + i * 4;
      M[i] = msg[j] | (msg[j + 1] << 8) | (msg[j + 2] << 16) | (msg[j + 3] << 24);
    }
    let [a, b, c, d] = [a0, b0, c0, d0];
    for (let i = 0; i < 64; i++) {
      let f;
      let g;
      if (i < 16) {
        f = (b & c) | (~b & d);
        g = i;
      } else if (i < 32) {
        f = (d & b) | (~d & c);
        g = (5 * i + 1) % 16;
      } else if (i < 48) {
        f = b ^ c ^ d;
        g = (3 * i + 5) % 16;
      } else {
        f = c ^ (b | ~d);
        g = (7 * i) % 16;
      }
      const t = d;
      d = c;
      c = b;
      b = (b + rotl((a + f + K[i] + M[g]) | 0, S[(i >> 4) * 4 + (i % 4)])) | 0;
      a = t;
    }
    a0 = (a0 + a) | 0;
    b0 = (b0 + b) | 0;
    c0 = (c0 + c) | 0;
    d0 = (d0 + d) | 0;
  }
  const out = [];
  for (const w of [a0, b0, c0, d0]) for (let i = 0; i < 4; i++) out.push((w >>> (8 * i)) & 0xff);
  return out;
}

// SHA-1 (FIPS 180-4) of a byte array, for v5.
function sha1(bytes) {
  const msg = bytes.slice();
  const bitLen = bytes.length * 8;
  msg.push(0x80);
  while (msg.length % 64 !== 56) msg.push(0);
  for (let i = 7; i >= 0; i--) msg.push(i < 4 ? (bitLen >>> (8 * i)) & 0xff : 0);
  const H = [0x67452301, 0xefcdab89, 0x98badcfe, 0x10325476, 0xc3d2e1f0];
  for (let off = 0; off < msg.length; off += 64) {
    const W = [];
    for (let i = 0; i < 16; i++) {
      const j = off + i * 4;
      W[i] = (msg[j] << 24) | (msg[j + 1] << 16) | (msg[j + 2] << 8) | msg[j + 3];
    }
    for (let i = 16; i < 80; i++) W[i] = rotl(W[i - 3] ^ W[i - 8] ^ W[i - 14] ^ W[i - 16], 1);
    let [a, b, c, d, e] = H;
    for (let i = 0; i < 80; i++) {
      let f;
      let k;
      if (i < 20) {
        f = (b & c) | (~b & d);
        k = 0x5a827999;
      } else if (i < 40) {
        f = b ^ c ^ d;
        k = 0x6ed9eba1;
      } else if (i < 60) {
        f = (b & c) | (b & d) | (c & d);
        k = 0x8f1bbcdc;
      } else {
        f = b ^ c ^ d;
        k = 0xca62c1d6;
      }
      const t = (rotl(a, 5) + f + e + k + W[i]) | 0;
      e = d;
      d = c;
      c = rotl(b, 30);
      b = a;
      a = t;
    }
    H[0] = (H[0] + a) | 0;
    H[1] = (H[1] + b) | 0;
    H[2] = (H[2] + c) | 0;
    H[3] = (H[3] + d) | 0;
    H[4] = (H[4] + e) | 0;
  }
  const out = [];
  for (const w of H) for (let i = 3; i >= 0; i--) out.push((w >>> (8 * i)) & 0xff);
  return out;
}

const DNS = '6ba7b810-9dad-11d1-80b4-00c04fd430c8';
const URL_NS = '6ba7b811-9dad-11d1-80b4-00c04fd430c8';

function named(ver, hash) {
  const f = function (value, namespace, buf, offset) {
    const v = typeof value === 'string' ? utf8(value) : Array.from(value);
    const ns = typeof namespace === 'string' ? Array.from(parse(namespace)) : Array.from(namespace || []);
    if (ns.length !== 16) throw new TypeError('Namespace must be array-like (16 iterable integer values, 0-255)');
    const b = hash(ns.concat(v)).slice(0, 16);
    b[6] = (b[6] & 0x0f) | (ver << 4);
    b[8] = (b[8] & 0x3f) | 0x80;
    return output(b, buf, offset);
  };
  f.DNS = DNS;
  f.URL = URL_NS;
  return f;
}

export const v3 = named(3, md5);
export const v5 = named(5, sha1);
