/** How a system line names several people: all of them up to four ("a, b and c"), then the
 * first three and a count ("a, b, c and 253 others"), so adding a whole team is one line, not a
 * screenful of names. */
const SHOWN = 3;

export function nameList(names: readonly string[]): string {
  if (names.length <= 1) return names[0] ?? '';
  if (names.length <= SHOWN + 1) return `${names.slice(0, -1).join(', ')} and ${names[names.length - 1]}`;
  return `${names.slice(0, SHOWN).join(', ')} and ${names.length - SHOWN} others`;
}
