import { describe, expect, it } from 'vitest';
import { nameList } from '../../src/ui/names.js';

describe('nameList', () => {
  it('names up to four people in full and counts the rest', () => {
    expect(nameList([])).toBe('');
    expect(nameList(['ann'])).toBe('ann');
    expect(nameList(['ann', 'bo'])).toBe('ann and bo');
    expect(nameList(['ann', 'bo', 'cy', 'di'])).toBe('ann, bo, cy and di');
    expect(nameList(['ann', 'bo', 'cy', 'di', 'ed'])).toBe('ann, bo, cy and 2 others');
    expect(nameList(Array.from({ length: 256 }, (_, i) => `m${i}`))).toBe('m0, m1, m2 and 253 others');
  });
});
