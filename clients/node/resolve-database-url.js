'use strict';
// The platform's side of the console's routing contract (docs/platform.md), for Node writers
// such as the guide's Prisma application. Dependency-free: Node's built-in crypto reads Fernet.
//
//   const { resolveDatabaseUrl, isFenceError } = require('./resolve-database-url');
//   const url = resolveDatabaseUrl(org.databaseUrl, process.env); // null: shared mode (main database)

const crypto = require('node:crypto');

const ENV_PREFIX = 'env:';
const ENCRYPTED_PREFIX = 'enc:v1:';
const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]{0,127}$/;
const FENCE_SQLSTATE = '55000';
const FENCE_MESSAGE = /organization (\S+) moved to another database at (\S+); re-read its databaseUrl/;

class DatabaseUrlError extends Error {
  constructor(message) {
    super(message);
    this.name = 'DatabaseUrlError';
  }
}

function base64url(text) {
  return Buffer.from(text.replace(/=+$/, ''), 'base64url');
}

function fernetKeys(setting) {
  const keys = (setting || '').split(',').map((k) => k.trim()).filter(Boolean);
  return keys.map((key, n) => {
    const raw = base64url(key);
    if (raw.length !== 32) {
      throw new DatabaseUrlError(`TENANT_URL_ENCRYPTION_KEY: key ${n + 1} is not a Fernet key (32 url-safe base64 bytes)`);
    }
    return { signing: raw.subarray(0, 16), encryption: raw.subarray(16) };
  });
}

// A Fernet token: 0x80 | timestamp (8) | IV (16) | AES-128-CBC ciphertext | HMAC-SHA256 (32).
function fernetDecrypt(token, key) {
  const data = base64url(token);
  if (data.length < 1 + 8 + 16 + 16 + 32 || data[0] !== 0x80) return null;
  const signed = data.subarray(0, data.length - 32);
  const mac = crypto.createHmac('sha256', key.signing).update(signed).digest();
  if (!crypto.timingSafeEqual(mac, data.subarray(data.length - 32))) return null;
  const decipher = crypto.createDecipheriv('aes-128-cbc', key.encryption, data.subarray(9, 25));
  return Buffer.concat([decipher.update(data.subarray(25, data.length - 32)), decipher.final()]).toString('utf8');
}

/**
 * The connection URL behind a stored "Organization"."databaseUrl": null for shared mode
 * (use the main database), the URL for plain, env:NAME and enc:v1:... values. Throws a
 * DatabaseUrlError for a value it cannot resolve: then never fall back to the main database.
 */
function resolveDatabaseUrl(stored, env = process.env) {
  if (stored === null || stored === undefined) return null;
  if (typeof stored !== 'string') throw new DatabaseUrlError('databaseUrl must be a string or null');
  if (stored.startsWith(ENV_PREFIX)) {
    const name = stored.slice(ENV_PREFIX.length);
    if (!ENV_NAME.test(name)) throw new DatabaseUrlError('env: must be followed by an environment variable name');
    if (!env[name]) throw new DatabaseUrlError(`the environment variable ${name} is not set`);
    return env[name];
  }
  if (stored.startsWith(ENCRYPTED_PREFIX)) {
    const keys = fernetKeys(env.TENANT_URL_ENCRYPTION_KEY);
    if (!keys.length) throw new DatabaseUrlError('the URL is encrypted but TENANT_URL_ENCRYPTION_KEY is not set');
    const token = stored.slice(ENCRYPTED_PREFIX.length);
    for (const key of keys) {
      let url = null;
      try {
        url = fernetDecrypt(token, key);
      } catch {
        url = null; // a padding error: not this key
      }
      if (url !== null) return url;
    }
    throw new DatabaseUrlError('the URL cannot be decrypted with any TENANT_URL_ENCRYPTION_KEY');
  }
  if (/^postgres(ql)?:\/\//.test(stored)) return stored;
  throw new DatabaseUrlError('unknown databaseUrl form: expected null, postgresql://..., env:NAME or enc:v1:...');
}

/**
 * Whether err is the console's move fence: the organization's rows moved to another
 * database and this write was refused where they used to be. The rule: drop the cached
 * client, read "databaseUrl" again, resolve it, and retry once there.
 * Recognised by its message, which node-postgres (err.code '55000'), Prisma (err.message, or
 * err.meta.message for raw queries) and other drivers all pass on.
 */
function isFenceError(err) {
  return Boolean(err) && FENCE_MESSAGE.test(errorText(err));
}

/** The organization and time a fence error names, or null. */
function fenceDetails(err) {
  const match = err ? FENCE_MESSAGE.exec(errorText(err)) : null;
  return match ? { organizationId: match[1], movedAt: match[2] } : null;
}

function errorText(err) {
  return [err.message, err.meta && err.meta.message].filter(Boolean).join(' ');
}

module.exports = { resolveDatabaseUrl, isFenceError, fenceDetails, DatabaseUrlError, FENCE_SQLSTATE };
