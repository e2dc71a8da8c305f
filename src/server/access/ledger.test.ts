// The access state machine, as a table: from every state to every target, the actions the ledger
// is asked to append, in order, and the state that the last of them leaves.
import { describe, expect, test } from 'vitest';
import { stateOf, transitionsTo, type AccessAction, type AccessState } from './ledger.ts';

const TABLE: [AccessState, Exclude<AccessState, 'none'>, AccessAction[]][] = [
  ['none', 'active', ['grant']],
  ['none', 'suspended', ['grant', 'suspend']],
  ['none', 'revoked', ['grant', 'revoke']],
  ['active', 'active', []],
  ['active', 'suspended', ['suspend']],
  ['active', 'revoked', ['revoke']],
  ['suspended', 'active', ['restore']],
  ['suspended', 'suspended', []],
  ['suspended', 'revoked', ['revoke']],
  ['revoked', 'active', ['restore']],
  ['revoked', 'suspended', ['restore', 'suspend']],
  ['revoked', 'revoked', []],
];

describe('transitionsTo', () => {
  test.each(TABLE)('from %s to %s: %j', (from, to, actions) => {
    expect(transitionsTo(from, to)).toEqual(actions);
    // And the actions do lead there.
    expect(actions.length === 0 ? from : stateOf(actions.at(-1))).toBe(to);
  });
});

describe('stateOf', () => {
  test.each<[AccessAction | null | undefined, AccessState]>([
    [null, 'none'],
    [undefined, 'none'],
    ['grant', 'active'],
    ['restore', 'active'],
    ['suspend', 'suspended'],
    ['revoke', 'revoked'],
  ])('after %s: %s', (action, state) => {
    expect(stateOf(action)).toBe(state);
  });
});
