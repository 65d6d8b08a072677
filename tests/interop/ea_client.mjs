#!/usr/bin/env node
// ea_client.mjs - an independent RFC 9261 Exported Authenticator client, written from the
// specifications (RFC 8446 7.5 exporters, RFC 9261 sections 4-5, draft-fossati-seat-expat
// binder) and the Cocos aTLS v2 wire description (research cocos-ea-wire.md 4.1-4.6), using
// only Node's built-in tls and crypto modules. It shares no code with tether.
//
// Modes:
//   node ea_client.mjs HOST:PORT [--cipher SUITE] [--tamper-context] [--split] [--send TEXT]
//                      [--sim-root FILE] [--save-evidence FILE] [--timeout MS]
//       Connect with TLS 1.3, send exactly Cocos's default request frame, validate the
//       authenticator, the binder and the sim evidence bound to it, then send TEXT (default
//       "ping") as raw application data and expect it echoed.
//       --split sends the request frame in three TLS records (header, then the payload in two).
//       --tamper-context recomputes the binder with a context other than the one sent: a
//       correct client must then report a binder mismatch (exit 1).
//   node ea_client.mjs HOST:PORT --print-exporter LABEL [--length N] [--cipher SUITE]
//       Connect, print TLS-Exporter(LABEL, no context, N) in hex, close.
//   node ea_client.mjs --vector DIR
//       Offline: validate a recorded Cocos capture (request.frame, authenticator.frame and the
//       exporter values in client.json).
//   node ea_client.mjs --offline --request FILE --authenticator FILE --hash sha256|sha384
//                      --hc HEX [--fk HEX] [--exported HEX]
//       Offline: validate an authenticator captured elsewhere (e.g. through openssl s_client)
//       with exporter values obtained elsewhere; checks needing a missing value are skipped.
//
// Output: one JSON line {"ok":..., "checks":{name: true|false|null}, ...}; null = not run.
// Exit: 0 every check that ran passed, 1 a check failed, 2 usage, 3 network error or timeout.

import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import tls from 'node:tls';

const LABEL_HC = 'EXPORTER-server authenticator handshake context';
const LABEL_FK = 'EXPORTER-server authenticator finished key';
const LABEL_BINDER = 'Attestation';
const HS_CLIENT_CERTIFICATE_REQUEST = 17;
const HS_CERTIFICATE = 11;
const HS_CERTIFICATE_VERIFY = 15;
const HS_FINISHED = 20;
const EXT_SIGNATURE_ALGORITHMS = 0x000d;
const EXT_CMW_ATTESTATION = 0xff00;
const SIG_ECDSA_P256_SHA256 = 0x0403;
const FRAME_REQUEST = 1;
const FRAME_AUTHENTICATOR = 2;
const FRAME_MAX = 16 << 20;

// Sim evidence v1 (src/evidence/sim/sim.h): fixed offsets in the 216-byte signed body.
const SIM_MAGIC = 'TSIM';
const SIM_MEDIA_TYPE = 'application/vnd.tether.sim-evidence+binary';
const SIM_OFF_KEY_HASH_LEN = 12;
const SIM_OFF_REPORT_DATA = 88;
const SIM_OFF_KEY_HASH = 152;
const SIM_BODY_LEN = 216;
// Cocos's dummy evidence (vectors README): report_data at offset 16.
const DUMMY_MEDIA_TYPE = 'application/vnd.cocos-ea-instrument.dummy-evidence';
const DUMMY_OFF_REPORT_DATA = 16;

class Usage extends Error {}
class NetError extends Error {}

function parseArgs(argv) {
  const o = { send: 'ping', timeout: 10000, length: 32 };
  const needs = new Set(['--cipher', '--send', '--sim-root', '--save-evidence', '--timeout',
    '--print-exporter', '--length', '--vector', '--request', '--authenticator', '--hash',
    '--hc', '--fk', '--exported']);
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (needs.has(a)) {
      if (i + 1 >= argv.length) throw new Usage(`${a} needs a value`);
      o[a.slice(2).replace(/-(.)/g, (_, c) => c.toUpperCase())] = argv[++i];
    } else if (a === '--tamper-context') {
      o.tamperContext = true;
    } else if (a === '--split') {
      o.split = true;
    } else if (a === '--offline') {
      o.offline = true;
    } else if (a === '--help' || a === '-h') {
      throw new Usage('');
    } else if (!a.startsWith('--') && !o.target) {
      o.target = a;
    } else {
      throw new Usage(`unknown argument ${a}`);
    }
  }
  o.timeout = Number(o.timeout);
  o.length = Number(o.length);
  if (!o.vector && !o.offline && !o.target) throw new Usage('HOST:PORT, --vector or --offline needed');
  return o;
}

// ---- byte helpers ----------------------------------------------------------------------

class Reader {
  constructor(buf, what) { this.b = buf; this.p = 0; this.what = what; }
  need(n) {
    if (this.p + n > this.b.length)
      throw new Error(`${this.what}: truncated (need ${n} bytes at ${this.p}, have ${this.b.length - this.p})`);
  }
  u8() { this.need(1); return this.b[this.p++]; }
  u16() { this.need(2); const v = this.b.readUInt16BE(this.p); this.p += 2; return v; }
  u24() { this.need(3); const v = this.b.readUIntBE(this.p, 3); this.p += 3; return v; }
  bytes(n) { this.need(n); const v = this.b.subarray(this.p, this.p + n); this.p += n; return v; }
  done() { return this.p === this.b.length; }
}

const u16 = (v) => Buffer.from([v >> 8, v & 0xff]);
const u24 = (v) => Buffer.from([(v >> 16) & 0xff, (v >> 8) & 0xff, v & 0xff]);
const hex = (b) => (b ? Buffer.from(b).toString('hex') : null);
const H = (alg, ...parts) => { const h = crypto.createHash(alg); for (const p of parts) h.update(p); return h.digest(); };
const eq = (a, b) => a.length === b.length && crypto.timingSafeEqual(a, b);

// Cocos's default AuthenticatorRequest (cocos-ea-wire.md 4.3): ClientCertificateRequest with a
// 32-byte context, signature_algorithms {0x0403}, empty cmw_attestation, in that order.
function buildRequest(context) {
  const sigalgs = Buffer.concat([u16(2), u16(SIG_ECDSA_P256_SHA256)]);
  const exts = Buffer.concat([
    u16(EXT_SIGNATURE_ALGORITHMS), u16(sigalgs.length), sigalgs,
    u16(EXT_CMW_ATTESTATION), u16(0),
  ]);
  const body = Buffer.concat([Buffer.from([context.length]), context, u16(exts.length), exts]);
  return Buffer.concat([Buffer.from([HS_CLIENT_CERTIFICATE_REQUEST]), u24(body.length), body]);
}

function frame(type, payload) {
  const h = Buffer.alloc(5);
  h[0] = type;
  h.writeUInt32BE(payload.length, 1);
  return Buffer.concat([h, payload]);
}

// Minimal DER walk: the byte-exact SubjectPublicKeyInfo of an X.509 certificate
// (Certificate -> tbsCertificate -> [version] serial signature issuer validity subject SPKI).
function derElement(buf, off) {
  const tag = buf[off];
  let len = buf[off + 1];
  let hdr = 2;
  if (len & 0x80) {
    const n = len & 0x7f;
    if (n < 1 || n > 3) throw new Error('DER: unsupported length');
    len = buf.readUIntBE(off + 2, n);
    hdr += n;
  }
  if (off + hdr + len > buf.length) throw new Error('DER: truncated');
  return { tag, start: off, body: off + hdr, end: off + hdr + len };
}
function spkiFromCert(der) {
  const cert = derElement(der, 0);
  const tbs = derElement(der, cert.body);
  let p = tbs.body;
  let e = derElement(der, p);
  if (e.tag === 0xa0) { p = e.end; e = derElement(der, p); } // [0] version
  for (let i = 0; i < 5; i++) { p = derElement(der, p).end; } // serial sigAlg issuer validity subject
  e = derElement(der, p);
  if (e.tag !== 0x30) throw new Error('DER: SPKI is not a SEQUENCE');
  return der.subarray(e.start, e.end);
}

function strictB64(s, what) {
  if (typeof s !== 'string' || !/^[A-Za-z0-9+/]*={0,2}$/.test(s) || s.length % 4 !== 0)
    throw new Error(`${what}: not padded standard base64`);
  const b = Buffer.from(s, 'base64');
  if (b.toString('base64') !== s) throw new Error(`${what}: non-canonical base64`);
  return b;
}

// ---- validation (RFC 9261 5.2, binder, evidence) -----------------------------------------

// v: { hash, hc, fk, exported (32 bytes, exporter over the context used for the binder),
//      request (handshake message), context, authFrame (whole frame), simRoot }
function validate(v, checks, out) {
  const hashLen = v.hash === 'sha384' ? 48 : 32;
  const af = new Reader(v.authFrame, 'authenticator frame');
  const ftype = af.u8();
  af.need(4);
  const flen = v.authFrame.readUInt32BE(1);
  af.p = 5;
  checks.frame_type = ftype === FRAME_AUTHENTICATOR;
  checks.frame_length = flen === v.authFrame.length - 5 && flen <= FRAME_MAX;
  if (!checks.frame_type || !checks.frame_length) return;
  const auth = v.authFrame.subarray(5);

  // Certificate || CertificateVerify || Finished, each type || u24 len || body, nothing after.
  const msgs = [];
  const r = new Reader(auth, 'authenticator');
  while (!r.done()) {
    const start = r.p;
    const type = r.u8();
    const len = r.u24();
    const body = r.bytes(len);
    msgs.push({ type, body, raw: auth.subarray(start, r.p) });
  }
  checks.authenticator_messages = msgs.length === 3 && msgs[0].type === HS_CERTIFICATE &&
    msgs[1].type === HS_CERTIFICATE_VERIFY && msgs[2].type === HS_FINISHED;
  if (!checks.authenticator_messages) {
    out.error = `authenticator messages: ${msgs.map((m) => m.type).join(',')} (empty authenticator or bad layout)`;
    return;
  }
  const [certMsg, cvMsg, finMsg] = msgs;

  // Certificate: context echo, entries, extensions only as offered (cmw on the leaf only).
  const cr = new Reader(certMsg.body, 'Certificate');
  const ctx = cr.bytes(cr.u8());
  checks.context_echo = eq(ctx, v.context);
  const list = new Reader(cr.bytes(cr.u24()), 'certificate_list');
  const entries = [];
  while (!list.done()) {
    const der = list.bytes(list.u24());
    const er = new Reader(list.bytes(list.u16()), 'entry extensions');
    const exts = [];
    while (!er.done()) exts.push({ type: er.u16(), data: er.bytes(er.u16()) });
    entries.push({ der, exts });
  }
  checks.certificate_body = cr.done() && entries.length >= 1;
  if (!checks.certificate_body) return;
  checks.extensions_offered = entries.every((e, i) => e.exts.every((x) => x.type === EXT_CMW_ATTESTATION && i === 0)) &&
    new Set(entries[0].exts.map((x) => x.type)).size === entries[0].exts.length;
  const cmwExt = entries[0].exts.find((x) => x.type === EXT_CMW_ATTESTATION);
  let cmw = null;
  if (cmwExt) {
    const xr = new Reader(cmwExt.data, 'cmw_attestation');
    cmw = xr.bytes(xr.u16()); // inner uint16 length (cocos-ea-wire.md 4.4)
    if (!xr.done()) cmw = null;
  }
  checks.cmw_present = cmw !== null;

  let leaf;
  try {
    leaf = new crypto.X509Certificate(entries[0].der);
    checks.certificate_parse = true;
  } catch (e) {
    checks.certificate_parse = false;
    out.error = `leaf certificate: ${e.message}`;
    return;
  }
  const spki = spkiFromCert(Buffer.from(entries[0].der));
  const spkiExport = leaf.publicKey.export({ type: 'spki', format: 'der' });
  checks.spki_byte_exact = eq(spki, spkiExport);
  out.leaf_subject = leaf.subject;

  // CertificateVerify: scheme offered (only 0x0403) and fits the key; signature over
  // 64 x 0x20 || "Exported Authenticator" || 0x00 || Hash(HC || request || Certificate).
  const cvr = new Reader(cvMsg.body, 'CertificateVerify');
  const scheme = cvr.u16();
  const sig = cvr.bytes(cvr.u16());
  out.signature_scheme = `0x${scheme.toString(16).padStart(4, '0')}`;
  const det = leaf.publicKey.asymmetricKeyDetails || {};
  checks.signature_scheme = cvr.done() && scheme === SIG_ECDSA_P256_SHA256 &&
    leaf.publicKey.asymmetricKeyType === 'ec' && det.namedCurve === 'prime256v1';
  if (v.hc) {
    const th1 = H(v.hash, v.hc, v.request, certMsg.raw);
    const signed = Buffer.concat([Buffer.alloc(64, 0x20), Buffer.from('Exported Authenticator'), Buffer.from([0]), th1]);
    // The signature hash is the scheme's (SHA-256), not the suite's (cocos-ea-wire.md 4.4).
    checks.certificate_verify = checks.signature_scheme &&
      crypto.verify('sha256', signed, { key: leaf.publicKey, dsaEncoding: 'der' }, sig);
  }
  // Finished = HMAC(FK, Hash(HC || request || Certificate || CertificateVerify)).
  if (v.hc && v.fk) {
    const th2 = H(v.hash, v.hc, v.request, certMsg.raw, cvMsg.raw);
    const mac = crypto.createHmac(v.hash, v.fk).update(th2).digest();
    checks.finished = finMsg.body.length === hashLen && eq(mac, finMsg.body);
  }

  // The cmw_attestation payload (cocos-ea-wire.md 4.6) and the binder (4.5).
  if (!cmw) return;
  let p;
  try {
    p = JSON.parse(cmw.toString('utf8'));
    checks.payload_parse = p !== null && typeof p === 'object' && p.version === 1 &&
      typeof p.binder === 'object' && p.binder !== null;
  } catch (e) {
    checks.payload_parse = false;
  }
  if (!checks.payload_parse) return;
  out.media_type = p.media_type ?? null;
  checks.exporter_label = p.binder.exporter_label === LABEL_BINDER;
  let evidence, aikRecv, bindingRecv;
  try {
    evidence = strictB64(p.evidence, 'evidence');
    aikRecv = strictB64(p.binder.aik_pub_hash, 'aik_pub_hash');
    bindingRecv = strictB64(p.binder.binding, 'binding');
  } catch (e) {
    checks.payload_parse = false;
    out.error = e.message;
    return;
  }
  out.evidence_len = evidence.length;
  if (v.saveEvidence) fs.writeFileSync(v.saveEvidence, evidence);

  const aik = H(v.hash, spki);
  checks.aik_pub_hash = eq(aik, aikRecv);
  out.aik_pub_hash = hex(aik);
  let reportData = null;
  if (v.exported) {
    const binding = H(v.hash, spki, v.exported);
    reportData = H('sha512', binding);
    checks.binding = eq(binding, bindingRecv);
    out.binding = hex(binding);
    out.report_data = hex(reportData);
  }

  // The evidence's own report_data and key hash.
  if (p.media_type === SIM_MEDIA_TYPE) {
    const ok = evidence.length >= SIM_BODY_LEN + 4 && evidence.subarray(0, 4).toString('latin1') === SIM_MAGIC &&
      evidence.readUInt16BE(4) === 1;
    checks.evidence_type = ok;
    if (!ok) return;
    const body = evidence.subarray(0, SIM_BODY_LEN);
    const er = new Reader(evidence.subarray(SIM_BODY_LEN), 'sim evidence tail');
    const akDer = er.bytes(er.u16());
    const esig = er.bytes(er.u16());
    checks.evidence_format = er.done();
    const ak = new crypto.X509Certificate(akDer);
    checks.evidence_signature = crypto.verify('sha256', body, { key: ak.publicKey, dsaEncoding: 'der' }, esig);
    if (v.simRoot) {
      const root = new crypto.X509Certificate(fs.readFileSync(v.simRoot));
      checks.evidence_chain = ak.checkIssued(root) && ak.verify(root.publicKey);
    }
    const khl = body[SIM_OFF_KEY_HASH_LEN];
    const signedKeyHash = body.subarray(SIM_OFF_KEY_HASH, SIM_OFF_KEY_HASH + khl);
    const signedReportData = body.subarray(SIM_OFF_REPORT_DATA, SIM_OFF_REPORT_DATA + 64);
    out.evidence_report_data = hex(signedReportData);
    checks.evidence_key_hash = eq(signedKeyHash, aik);
    if (reportData) checks.evidence_report_data = eq(signedReportData, reportData);
  } else if (p.media_type === DUMMY_MEDIA_TYPE) {
    checks.evidence_type = evidence.length >= DUMMY_OFF_REPORT_DATA + 64;
    if (!checks.evidence_type) return;
    const rd = evidence.subarray(DUMMY_OFF_REPORT_DATA, DUMMY_OFF_REPORT_DATA + 64);
    out.evidence_report_data = hex(rd);
    if (reportData) checks.evidence_report_data = eq(rd, reportData);
  } else {
    checks.evidence_type = false;
    out.error = `unknown evidence media type ${p.media_type}`;
  }
}

// ---- live connection ---------------------------------------------------------------------

function connectTls(o) {
  const m = /^(.*):(\d+)$/.exec(o.target);
  if (!m) throw new Usage('target must be HOST:PORT');
  const opts = {
    host: m[1].replace(/^\[|\]$/g, ''), port: Number(m[2]), rejectUnauthorized: false,
    minVersion: 'TLSv1.3', maxVersion: 'TLSv1.3',
  };
  if (o.cipher) opts.ciphers = o.cipher; // TLS 1.3 suite names are passed to SSL_CTX_set_ciphersuites
  return new Promise((resolve, reject) => {
    const s = tls.connect(opts, () => resolve(s));
    s.once('error', (e) => reject(new NetError(e.message)));
  });
}

// Byte-count reader over a socket: frames may be split across TLS records (and several frames
// or trailing application data may share one record).
function byteQueue(sock) {
  let buf = Buffer.alloc(0);
  let waiter = null;
  let ended = false;
  sock.on('data', (d) => { buf = Buffer.concat([buf, d]); if (waiter) waiter(); });
  sock.on('end', () => { ended = true; if (waiter) waiter(); });
  sock.on('close', () => { ended = true; if (waiter) waiter(); });
  return {
    async take(n) {
      while (buf.length < n) {
        if (ended) throw new NetError(`peer closed after ${buf.length} of ${n} bytes`);
        await new Promise((r) => { waiter = r; });
        waiter = null;
      }
      const v = buf.subarray(0, n);
      buf = buf.subarray(n);
      return v;
    },
  };
}

async function live(o, checks, out) {
  const sock = await connectTls(o);
  const q = byteQueue(sock);
  const cipher = sock.getCipher();
  out.tls_version = sock.getProtocol();
  out.cipher = cipher.standardName || cipher.name;
  checks.tls13 = out.tls_version === 'TLSv1.3';
  if (o.cipher) checks.cipher_forced = out.cipher === o.cipher;
  const hash = /SHA384$/.test(out.cipher) ? 'sha384' : 'sha256';
  const hashLen = hash === 'sha384' ? 48 : 32;
  out.hash = hash;

  if (o.printExporter) {
    out.label = o.printExporter;
    out.exporter = hex(sock.exportKeyingMaterial(o.length, o.printExporter));
    sock.end();
    return;
  }

  const context = crypto.randomBytes(32);
  const request = buildRequest(context);
  const reqFrame = frame(FRAME_REQUEST, request);
  if (o.split) {
    // Like Go's writeFrame, and worse: header, then the payload in two pieces, each in its own
    // TLS record; the server must read by byte count.
    for (const part of [reqFrame.subarray(0, 5), reqFrame.subarray(5, 20), reqFrame.subarray(20)]) {
      await new Promise((r) => sock.write(part, r));
      await new Promise((r) => setTimeout(r, 20));
    }
  } else {
    sock.write(reqFrame);
  }
  const hdr = await q.take(5);
  const len = hdr.readUInt32BE(1);
  if (hdr[0] !== FRAME_AUTHENTICATOR || len > FRAME_MAX) {
    checks.frame_type = hdr[0] === FRAME_AUTHENTICATOR;
    checks.frame_length = len <= FRAME_MAX;
    sock.destroy();
    return;
  }
  const authFrame = Buffer.concat([hdr, await q.take(len)]);

  // The tamper mode validates against another context: the binder must then mismatch.
  const binderContext = o.tamperContext ? crypto.randomBytes(32) : context;
  const v = {
    hash, request, context, authFrame, simRoot: o.simRoot, saveEvidence: o.saveEvidence,
    hc: sock.exportKeyingMaterial(hashLen, LABEL_HC),
    fk: sock.exportKeyingMaterial(hashLen, LABEL_FK),
    exported: sock.exportKeyingMaterial(32, LABEL_BINDER, binderContext),
  };
  out.hc = hex(v.hc);
  out.tampered_context = !!o.tamperContext;
  validate(v, checks, out);

  // Cocos compatibility: after the one exchange the stream carries raw application data.
  const msg = Buffer.from(o.send);
  sock.write(msg);
  const echo = await q.take(msg.length);
  checks.app_data_echo = eq(echo, msg);
  sock.end();
}

// ---- offline ------------------------------------------------------------------------------

function offline(o, checks, out) {
  let v;
  if (o.vector) {
    const j = JSON.parse(fs.readFileSync(path.join(o.vector, 'client.json'), 'utf8'));
    const reqFrame = fs.readFileSync(path.join(o.vector, 'request.frame'));
    v = {
      hash: j.binder.hash === 'SHA-384' ? 'sha384' : 'sha256',
      hc: Buffer.from(j.exporters.server_authenticator_handshake_context_hex, 'hex'),
      fk: Buffer.from(j.exporters.server_authenticator_finished_key_hex, 'hex'),
      exported: Buffer.from(j.binder.exported_value_hex, 'hex'),
      request: reqFrame.subarray(5),
      authFrame: fs.readFileSync(path.join(o.vector, 'authenticator.frame')),
    };
    checks.request_is_cocos_default = reqFrame.length === 56 && reqFrame[0] === FRAME_REQUEST &&
      eq(buildRequest(reqFrame.subarray(10, 42)), reqFrame.subarray(5));
    out.cipher = j.tls.cipher_suite;
  } else {
    if (!o.request || !o.authenticator || !o.hc || !o.hash) throw new Usage('--offline needs --request --authenticator --hash --hc');
    let authFrame = fs.readFileSync(o.authenticator);
    let request = fs.readFileSync(o.request);
    if (request[0] === FRAME_REQUEST && request.length >= 5 && request.readUInt32BE(1) === request.length - 5) request = request.subarray(5);
    v = {
      hash: o.hash, request, authFrame,
      hc: Buffer.from(o.hc, 'hex'),
      fk: o.fk ? Buffer.from(o.fk, 'hex') : null,
      exported: o.exported ? Buffer.from(o.exported, 'hex') : null,
    };
  }
  const rr = new Reader(v.request, 'request');
  rr.u8(); rr.u24();
  v.context = rr.bytes(rr.u8());
  out.hash = v.hash;
  validate(v, checks, out);
}

// ---- main ----------------------------------------------------------------------------------

async function main() {
  let o;
  try {
    o = parseArgs(process.argv.slice(2));
  } catch (e) {
    process.stderr.write(`${e.message ? `ea_client: ${e.message}\n` : ''}usage: see the header of ea_client.mjs\n`);
    process.exit(2);
  }
  const checks = {};
  const out = { tool: 'ea_client.mjs', mode: o.vector ? 'vector' : o.offline ? 'offline' : o.printExporter ? 'exporter' : 'live' };
  let code = 0;
  const timer = setTimeout(() => {
    out.error = `timeout after ${o.timeout} ms`;
    finish(3);
  }, o.timeout);
  function finish(c) {
    const ran = Object.values(checks).filter((x) => x !== null && x !== undefined);
    const failed = Object.entries(checks).filter(([, x]) => x === false).map(([k]) => k);
    if (c === 0 && (failed.length || (out.mode !== 'exporter' && ran.length === 0))) c = 1;
    out.ok = c === 0;
    out.failed = failed;
    out.checks = checks;
    process.stdout.write(`${JSON.stringify(out)}\n`);
    process.exit(c);
  }
  try {
    if (o.vector || o.offline) offline(o, checks, out);
    else await live(o, checks, out);
  } catch (e) {
    out.error = out.error || e.message;
    code = e instanceof NetError ? 3 : e instanceof Usage ? 2 : 1;
  }
  clearTimeout(timer);
  finish(code);
}

main();
