// Which row of the message list counts as seen, from its geometry: the read cursor moves to the
// newest row whose bottom edge is in view (or that fills the view), never to one cut off below.
import { describe, expect, it } from 'vitest';
import { lastSeenIndex, seenSeq } from '../../src/ui/seen.js';

/** Offsets of rows with these heights (row i spans offsets[i]..offsets[i+1]). */
const offsetsOf = (heights: number[]): number[] => heights.reduce((o, h) => [...o, o[o.length - 1]! + h], [0]);

describe('seen rows', () => {
  const ten = offsetsOf(Array.from({ length: 10 }, () => 50));

  it('is the last row whose bottom edge is in view', () => {
    // View 0..175: rows 0-2 end inside it, row 3 (150..200) is cut off.
    expect(lastSeenIndex(ten, 10, 0, 175)).toBe(2);
    // Scrolled to 200..400: rows 4-7 in full (row 7 ends at 400 exactly).
    expect(lastSeenIndex(ten, 10, 200, 200)).toBe(7);
    // At the bottom: the last row.
    expect(lastSeenIndex(ten, 10, 300, 200)).toBe(9);
  });

  it('counts a row taller than the view once it fills the view', () => {
    const tall = offsetsOf([50, 50, 1000, 50]);
    // 120..420 lies inside row 2 (100..1100).
    expect(lastSeenIndex(tall, 4, 120, 300)).toBe(2);
    // Only its top in view, below row 1: row 1 is the newest seen.
    expect(lastSeenIndex(tall, 4, 0, 300)).toBe(1);
    expect(lastSeenIndex(offsetsOf([600]), 1, 0, 500)).toBe(0);
  });

  it('is none for an empty list or a view of no height', () => {
    expect(lastSeenIndex([0], 0, 0, 500)).toBe(-1);
    expect(lastSeenIndex(ten, 10, 0, 0)).toBe(-1);
  });

  it('marks the newest confirmed row at or before it (rows still sending have no seq)', () => {
    const rows = [
      { seq: 4, state: 'sent' },
      { seq: 5, state: 'sent' },
      { seq: Number.MAX_SAFE_INTEGER, state: 'sending' },
    ];
    expect(seenSeq(rows, 2)).toBe(5);
    expect(seenSeq(rows, 0)).toBe(4);
    expect(seenSeq(rows, -1)).toBe(0);
  });
});
