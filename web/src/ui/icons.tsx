// Small inline SVG icons (built as elements, not markup strings): system fonts lack some glyphs.
import type { JSX } from 'preact';

const PATHS = {
  menu: 'M3 6h18M3 12h18M3 18h18',
  back: 'M15 5l-7 7 7 7',
  info: 'M12 11v6M12 7.5v.5M12 3a9 9 0 1 0 0 18 9 9 0 0 0 0-18z',
  close: 'M6 6l12 12M18 6L6 18',
  moon: 'M20 14.5A8 8 0 0 1 9.5 4 8 8 0 1 0 20 14.5z',
  sun: 'M12 8a4 4 0 1 0 0 8 4 4 0 0 0 0-8zM12 2v2M12 20v2M2 12h2M20 12h2M4.9 4.9l1.4 1.4M17.7 17.7l1.4 1.4M4.9 19.1l1.4-1.4M17.7 6.3l1.4-1.4',
  down: 'M12 5v14M6 13l6 6 6-6',
  more: 'M12 5.5v.5M12 11.5v.5M12 17.5v.5',
  pin: 'M9 4h6l-1 6 3 3H7l3-3zM12 13v7',
  muted: 'M4 4l16 16M9 5.3A6 6 0 0 1 18 10v3l2 3H8M6 10v3l-2 3h4M10 20a2 2 0 0 0 4 0',
  archive: 'M4 5h16v4H4zM5 9v10h14V9M10 13h4',
  megaphone: 'M3 10v4h4l8 5V5L7 10zM18 9a4 4 0 0 1 0 6',
} as const;

export function Icon({ name }: { name: keyof typeof PATHS }): JSX.Element {
  return (
    <svg class="icon" viewBox="0 0 24 24" width={20} height={20} aria-hidden="true" focusable="false">
      <path d={PATHS[name]} fill="none" stroke="currentColor" stroke-width={2} stroke-linecap="round" stroke-linejoin="round" />
    </svg>
  );
}
