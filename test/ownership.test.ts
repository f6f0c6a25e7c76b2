import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { assertMayShareWith, mayActOn, sessionIdUser, storedUserName } from '../src/model/ownership.js';

const alice = { uid: 1001, name: 'alice' };
const root = { uid: 0, name: 'root' };

describe('session ownership (the reference check_user rule, holes closed)', () => {
  test("a user acts on her own desktop sessions, not on others'", () => {
    assert.ok(mayActOn(alice, 'alice-51-1700000000_stDxfce_dp24'));
    assert.ok(mayActOn(alice, 'alice-51-1700000000_stRrdp_dp24'));
    assert.ok(!mayActOn(alice, 'bob-51-1700000000_stDxfce_dp24'));
    assert.ok(!mayActOn(alice, 'xalice-51-1700000000_stDxfce_dp24'));
    assert.ok(!mayActOn(alice, 'alice2-51-1700000000_stDxfce_dp24'));
  });

  test('the owner of a shared desktop acts on the sharing session, by exact name', () => {
    assert.ok(mayActOn(alice, 'bob-52-1700000000_stS1XSHADaliceXSHADPP51_dp24'));
    assert.ok(mayActOn(alice, 'bob-52-1700000000_stS0XSHADaliceXSHADPP51_dp24'));
    // The reference matched any name starting with the caller's: 'ali' on alice's desktop.
    assert.ok(!mayActOn({ uid: 1003, name: 'ali' }, 'bob-52-1700000000_stS1XSHADaliceXSHADPP51_dp24'));
    // The reference pasted the name into a regular expression: '.' matched any character.
    assert.ok(!mayActOn({ uid: 1004, name: 'a.ice' }, 'alice-51-1700000000_stDxfce_dp24'));
  });

  test('domain accounts: the backslash is dropped, as in session ids', () => {
    const domain = { uid: 5000, name: 'EXAMPLE\\alice' };
    assert.equal(storedUserName(domain), 'EXAMPLEalice');
    assert.ok(mayActOn(domain, 'EXAMPLEalice-51-1700000000_stDxfce_dp24'));
    assert.ok(!mayActOn(domain, 'alice-51-1700000000_stDxfce_dp24'));
  });

  test('root acts on every session', () => {
    assert.ok(mayActOn(root, 'bob-51-1700000000_stDxfce_dp24'));
  });

  test("a sharing session is created only for its viewer, on the caller's own desktop", () => {
    assert.doesNotThrow(() => assertMayShareWith(alice, 'bob-52-1700000000_stS1XSHADaliceXSHADPP51_dp24', 'bob'));
    assert.throws(() => assertMayShareWith(alice, 'bob-52-1700000000_stS1XSHADaliceXSHADPP51_dp24', 'carol'));
    assert.throws(() => assertMayShareWith(alice, 'carol-52-1700000000_stS1XSHADbobXSHADPP51_dp24', 'carol'));
    assert.throws(() => assertMayShareWith(alice, 'bob-52-1700000000_stDxfce_dp24', 'bob'));
  });

  test('the user a session id is named after', () => {
    assert.equal(sessionIdUser('a-12-51-1700000000_stDxfce_dp24'), 'a-12');
    assert.equal(sessionIdUser('bob-52-1700000000_stS1XSHADaliceXSHADPP51_dp24'), 'bob');
  });
});
