'use strict';
// Run by the console's suite (tests/platform/test_node_resolver.py), which stores URLs through
// the console itself (a page save under one key, then `tenants encrypt-urls` after a key
// rotation) and passes what it stored in VECTORS_FILE.
const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const { resolveDatabaseUrl, isFenceError, fenceDetails, DatabaseUrlError } = require('../resolve-database-url');

const vectorsFile = process.env.VECTORS_FILE;
assert.ok(vectorsFile, 'VECTORS_FILE is not set: run these tests through the console suite (make test)');
const fixture = JSON.parse(fs.readFileSync(vectorsFile, 'utf8'));

test('each stored form resolves to exactly the URL the console stored', () => {
  assert.ok(fixture.vectors.length >= 4);
  for (const { label, stored, env, expected } of fixture.vectors) {
    assert.equal(resolveDatabaseUrl(stored, env), expected, label);
  }
});

test('shared mode is null', () => {
  assert.equal(resolveDatabaseUrl(null, {}), null);
  assert.equal(resolveDatabaseUrl(undefined, {}), null);
});

test('a wrong key, a missing key, a bad key and an unknown form throw a clear error', () => {
  const encrypted = fixture.vectors.find((v) => v.stored.startsWith('enc:v1:'));
  assert.throws(() => resolveDatabaseUrl(encrypted.stored, { TENANT_URL_ENCRYPTION_KEY: fixture.wrongKey }),
    (err) => err instanceof DatabaseUrlError && /cannot be decrypted/.test(err.message));
  assert.throws(() => resolveDatabaseUrl(encrypted.stored, {}), /TENANT_URL_ENCRYPTION_KEY is not set/);
  assert.throws(() => resolveDatabaseUrl(encrypted.stored, { TENANT_URL_ENCRYPTION_KEY: 'short' }), /not a Fernet key/);
  const tampered = encrypted.stored.slice(0, -6) + (encrypted.stored.endsWith('AAAAAA') ? 'BBBBBB' : 'AAAAAA');
  assert.throws(() => resolveDatabaseUrl(tampered, encrypted.env), /cannot be decrypted/);
  assert.throws(() => resolveDatabaseUrl('mysql://u@h/d', {}), /unknown databaseUrl form/);
  assert.throws(() => resolveDatabaseUrl('env:NOT_SET_ANYWHERE', {}), /NOT_SET_ANYWHERE is not set/);
  assert.throws(() => resolveDatabaseUrl('env:1bad', {}), /environment variable name/);
  assert.throws(() => resolveDatabaseUrl(42, {}), DatabaseUrlError);
});

test('the fence error the console raises is recognised, and nothing else is', () => {
  const { message, sqlstate } = fixture.fenceError;
  assert.equal(sqlstate, '55000');
  const pg = Object.assign(new Error(message), { code: sqlstate });
  const prisma = Object.assign(new Error('Raw query failed.'), { code: 'P2010', meta: { code: sqlstate, message } });
  assert.ok(isFenceError(pg) && isFenceError(prisma));
  assert.deepEqual(fenceDetails(pg), { organizationId: fixture.fenceError.organizationId, movedAt: fenceDetails(pg).movedAt });
  assert.match(fenceDetails(prisma).movedAt, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
  assert.ok(!isFenceError(Object.assign(new Error('duplicate key value'), { code: '23505' })));
  assert.ok(!isFenceError(null));
});
