// @ts-check
/**
 * The Jupyter wire protocol, defensively: the connection file (checked field by field, one clear
 * error line when it is wrong), message signing with the connection file's `signature_scheme`
 * (any `hmac-<hash>` Node's crypto knows: sha256, sha512, ...), and parsing that never throws on a
 * correctly signed but malformed message: it says what is wrong instead, so the kernel can answer
 * with an error reply and keep serving.
 * https://jupyter-client.readthedocs.io/en/latest/messaging.html#the-wire-protocol
 */
'use strict';
const crypto = require('crypto');
const fs = require('fs');

const PROTOCOL_VERSION = '5.3';
const DELIM = Buffer.from('<IDS|MSG>');

/** A problem with the connection file, reported as one line. */
class ConnectionFileError extends Error {
  /** @param {string} file @param {string} what */
  constructor(file, what) {
    super(`mriseq kernel: bad connection file ${file}: ${what}`);
    this.name = 'ConnectionFileError';
  }
}

/**
 * @typedef {{ transport: string, ip: string, key: string, algorithm: string | null,
 *   shell_port: number, iopub_port: number, stdin_port: number, control_port: number, hb_port: number }} Connection
 */

const PORTS = ['shell_port', 'iopub_port', 'stdin_port', 'control_port', 'hb_port'];

/**
 * Reads and checks a connection file.
 * @param {string} file
 * @returns {Connection}
 */
function readConnectionFile(file) {
  let text;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (e) {
    throw new ConnectionFileError(file, `cannot read it (${/** @type {NodeJS.ErrnoException} */ (e).code ?? e})`);
  }
  /** @type {unknown} */
  let raw;
  try {
    raw = JSON.parse(text);
  } catch (e) {
    throw new ConnectionFileError(file, `not JSON (${e instanceof Error ? e.message : e})`);
  }
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw))
    throw new ConnectionFileError(file, `expected a JSON object, found ${raw === null ? 'null' : typeof raw}`);
  const c = /** @type {Record<string, unknown>} */ (raw);
  const transport = c.transport ?? 'tcp';
  if (transport !== 'tcp' && transport !== 'ipc')
    throw new ConnectionFileError(file, `field "transport" is ${JSON.stringify(transport)}, expected "tcp" or "ipc"`);
  if (typeof c.ip !== 'string' || c.ip === '')
    throw new ConnectionFileError(file, `field "ip" is ${JSON.stringify(c.ip)}, expected an address such as "127.0.0.1"`);
  /** @type {Record<string, number>} */
  const ports = {};
  for (const p of PORTS) {
    const v = c[p];
    if (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v > 65535 || (transport === 'tcp' && v === 0))
      throw new ConnectionFileError(
        file,
        `field "${p}" is ${JSON.stringify(v)}, expected an integer port ${transport === 'tcp' ? '1-65535' : '0-65535'}`,
      );
    ports[p] = v;
  }
  const key = c.key ?? '';
  if (typeof key !== 'string') throw new ConnectionFileError(file, `field "key" is ${typeof key}, expected a string`);
  const scheme = c.signature_scheme ?? 'hmac-sha256';
  if (typeof scheme !== 'string' || !scheme.startsWith('hmac-'))
    throw new ConnectionFileError(
      file,
      `field "signature_scheme" is ${JSON.stringify(scheme)}, expected "hmac-<hash>" such as "hmac-sha256"`,
    );
  const algorithm = scheme.slice('hmac-'.length);
  if (!crypto.getHashes().includes(algorithm))
    throw new ConnectionFileError(
      file,
      `field "signature_scheme" names hash "${algorithm}", which this Node does not have (try hmac-sha256 or hmac-sha512)`,
    );
  return {
    transport,
    ip: c.ip,
    key,
    // An empty key means "do not sign" (the protocol's way to turn authentication off).
    algorithm: key ? algorithm : null,
    .../** @type {any} */ (ports),
  };
}

/**
 * @param {Connection} conn @param {(Buffer | string)[]} parts
 * @returns {string}
 */
function sign(conn, parts) {
  if (!conn.algorithm) return '';
  const h = crypto.createHmac(conn.algorithm, conn.key);
  for (const p of parts) h.update(p);
  return h.digest('hex');
}

/**
 * @typedef {{ msg_id: string, msg_type: string, session: string, username: string, date?: string, version?: string }} Header
 * @typedef {{ identity: Buffer[], header: Header, parent: Record<string, unknown>, metadata: Record<string, unknown>, content: Record<string, unknown>, buffers: Buffer[] }} Message
 * @typedef {{ ok: true, msg: Message } | { ok: false, reason: string, identity: Buffer[], header: Record<string, unknown> | null }} Parsed
 */

/** @param {unknown} x */
const isObject = (x) => typeof x === 'object' && x !== null && !Array.isArray(x);

/**
 * Splits, verifies and decodes one multipart message. Never throws: a message that cannot be used
 * comes back as { ok: false, reason } (with its header when the header itself was readable, so
 * the caller can still address an error reply).
 * @param {Connection} conn @param {Buffer[]} raw
 * @returns {Parsed}
 */
function parseMessage(conn, raw) {
  const at = raw.findIndex((b) => b.equals(DELIM));
  const identity = at >= 0 ? raw.slice(0, at) : [];
  if (at < 0) return { ok: false, reason: 'no <IDS|MSG> delimiter', identity, header: null };
  if (raw.length < at + 6)
    return { ok: false, reason: `${raw.length - at - 1} frames after the delimiter, expected at least 5`, identity, header: null };
  const signature = raw[at + 1].toString();
  const parts = raw.slice(at + 2);
  if (conn.algorithm) {
    const want = sign(conn, parts.slice(0, 4));
    if (want.length !== signature.length || !crypto.timingSafeEqual(Buffer.from(want), Buffer.from(signature)))
      return { ok: false, reason: `invalid signature (this kernel signs with hmac-${conn.algorithm})`, identity, header: null };
  }
  /** @type {unknown[]} */
  const decoded = [];
  const names = ['header', 'parent_header', 'metadata', 'content'];
  for (let i = 0; i < 4; i++) {
    try {
      decoded.push(JSON.parse(parts[i].toString('utf8')));
    } catch {
      return { ok: false, reason: `${names[i]} is not JSON`, identity, header: isObject(decoded[0]) ? /** @type {any} */ (decoded[0]) : null };
    }
  }
  const [header, parent, metadata, content] = decoded;
  if (!isObject(header)) return { ok: false, reason: `header is ${describe(header)}, expected an object`, identity, header: null };
  const h = /** @type {Record<string, unknown>} */ (header);
  for (const f of ['msg_id', 'msg_type']) {
    if (typeof h[f] !== 'string' || h[f] === '')
      return { ok: false, reason: `header.${f} is ${describe(h[f])}, expected a non-empty string`, identity, header: h };
  }
  if (h.session !== undefined && typeof h.session !== 'string')
    return { ok: false, reason: `header.session is ${describe(h.session)}, expected a string`, identity, header: h };
  if (!isObject(parent)) return { ok: false, reason: `parent_header is ${describe(parent)}, expected an object`, identity, header: h };
  if (!isObject(metadata)) return { ok: false, reason: `metadata is ${describe(metadata)}, expected an object`, identity, header: h };
  if (!isObject(content)) return { ok: false, reason: `content is ${describe(content)}, expected an object`, identity, header: h };
  return {
    ok: true,
    msg: {
      identity,
      header: /** @type {Header} */ ({ session: '', username: '', ...h }),
      parent: /** @type {Record<string, unknown>} */ (parent),
      metadata: /** @type {Record<string, unknown>} */ (metadata),
      content: /** @type {Record<string, unknown>} */ (content),
      buffers: parts.slice(4),
    },
  };
}

/** @param {unknown} x */
function describe(x) {
  if (x === null) return 'null';
  if (Array.isArray(x)) return 'an array';
  if (typeof x === 'string') return JSON.stringify(x.length > 40 ? x.slice(0, 40) + '...' : x);
  return typeof x === 'object' ? 'an object' : `${typeof x} ${String(x)}`;
}

/** NaN and Infinity are not JSON: the front end would refuse the whole message. */
const finiteReplacer = (/** @type {string} */ _k, /** @type {unknown} */ v) =>
  typeof v === 'number' && !Number.isFinite(v) ? null : v;

/**
 * Builds the frames of one message.
 * @param {Connection} conn @param {string} session
 * @param {{ header: Partial<Header> } | null} parent
 * @param {string} msgType @param {unknown} content @param {Buffer[]} identity
 * @param {{ metadata?: Record<string, unknown>, buffers?: Buffer[] }} [extra]
 * @returns {(Buffer | string)[]}
 */
function encodeMessage(conn, session, parent, msgType, content, identity, extra = {}) {
  const header = {
    msg_id: crypto.randomUUID(),
    msg_type: msgType,
    session,
    username: (parent && typeof parent.header.username === 'string' && parent.header.username) || 'mriseq',
    date: new Date().toISOString(),
    version: PROTOCOL_VERSION,
  };
  const bodies = [header, parent ? parent.header : {}, extra.metadata ?? {}, content].map((x) =>
    JSON.stringify(x, finiteReplacer),
  );
  return [...identity, DELIM, sign(conn, bodies), ...bodies, ...(extra.buffers ?? [])];
}

module.exports = {
  PROTOCOL_VERSION,
  ConnectionFileError,
  readConnectionFile,
  parseMessage,
  encodeMessage,
  sign,
};
