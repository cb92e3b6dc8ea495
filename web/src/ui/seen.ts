// Which rows of the virtualized message list the reader has seen, from its geometry (row offsets
// and the scroll position) rather than an IntersectionObserver: the list already knows every
// row's measured top and bottom, and only the rows near the view are in the DOM at all.

/** Slack for sub-pixel rounding at the view's bottom edge. */
const EDGE_PX = 2;

/**
 * The index of the newest row seen in the view `[top, top + height)`: the last row whose bottom
 * edge is in view (or above it: the read cursor covers everything older anyway), or, for a row
 * taller than the view, one that covers it. -1 when none is.
 * `offsets[i]` is row i's top, `offsets[count]` the list's height.
 */
export function lastSeenIndex(offsets: ArrayLike<number>, count: number, top: number, height: number): number {
  if (count === 0 || height <= 0) return -1;
  const bottom = top + height + EDGE_PX;
  // The last row ending at or above the bottom edge (offsets ascend).
  let lo = 0;
  let hi = count;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (offsets[mid + 1]! <= bottom) lo = mid + 1;
    else hi = mid;
  }
  let i = lo - 1;
  // The next row starts above the view and ends below it: it fills the view, so it is seen.
  if (i + 1 < count && offsets[i + 1]! <= top && offsets[i + 2]! > bottom) i += 1;
  return i;
}

/** The seq to mark read given the newest seen row: that row's, or the newest confirmed row
 * before it (rows still sending have no seq). 0 when there is none. */
export function seenSeq(rows: ReadonlyArray<{ seq: number; state: string }>, index: number): number {
  for (let i = Math.min(index, rows.length - 1); i >= 0; i--) if (rows[i]!.state === 'sent') return rows[i]!.seq;
  return 0;
}
