// `@name` in text: what the composer sends as mentions and what a bubble marks, the same way.
import { describe, expect, it } from 'vitest';
import { mentionParts, mentionsIn } from '../../src/ui/mention-text.js';

const MEMBERS: Array<[string, string]> = [['2', 'bob'], ['3', 'bobby'], ['4', 'ana.m']];

describe('mentions in text', () => {
  it('finds whole names only, any case, not inside words or addresses', () => {
    expect(mentionsIn('@bob look', MEMBERS, true)).toEqual({ mentions: ['2'], mentionAll: false });
    expect(mentionsIn('hi @BOBBY, and @ana.m.', MEMBERS, true)).toEqual({ mentions: ['3', '4'], mentionAll: false });
    expect(mentionsIn('mail bob@bob.org or x@bob', MEMBERS, true).mentions).toEqual([]);
    expect(mentionsIn('@bobbyx', MEMBERS, true).mentions).toEqual([]);
  });

  it('@all only in groups', () => {
    expect(mentionsIn('@all dinner', MEMBERS, true).mentionAll).toBe(true);
    expect(mentionsIn('@all dinner', MEMBERS, false).mentionAll).toBe(false);
    expect(mentionsIn('@allegra', MEMBERS, true).mentionAll).toBe(false);
  });

  it('splits text into runs and mentions, keeping every character', () => {
    const parts = mentionParts('(@bob) see @Ana.m: and @bobby!', ['bob', 'bobby', 'ana.m']);
    expect(parts).toEqual([
      { text: '(' }, { text: '@bob', mention: 'bob' }, { text: ') see ' }, { text: '@Ana.m', mention: 'Ana.m' }, { text: ': and ' }, { text: '@bobby', mention: 'bobby' }, { text: '!' },
    ]);
    expect(parts.map((p) => p.text).join('')).toBe('(@bob) see @Ana.m: and @bobby!');
    expect(mentionParts('no one here', [])).toEqual([{ text: 'no one here' }]);
  });
});
