// Which text becomes a link: only http(s) URLs, without trailing punctuation; the rest stays text.
import { describe, expect, it } from 'vitest';
import { linkParts, safeHref } from '../../src/ui/linkify.js';

describe('linkParts', () => {
  it('links http and https URLs and nothing else', () => {
    expect(linkParts('see https://example.com/a?b=1. and http://x.org!')).toEqual([
      { text: 'see ' },
      { text: 'https://example.com/a?b=1', href: 'https://example.com/a?b=1' },
      { text: '. and ' },
      { text: 'http://x.org', href: 'http://x.org/' },
      { text: '!' },
    ]);
    for (const t of ['javascript:alert(1)', 'data:text/html,<script>alert(1)</script>', 'vbscript:x', '<a href="javascript:alert(1)">x</a>', 'ftp://example.com']) {
      expect(linkParts(t)).toEqual([{ text: t }]);
    }
    // A URL stops at markup characters, so a payload after it stays text.
    expect(linkParts('https://a.example/"><img src=x onerror=alert(1)>')).toEqual([
      { text: 'https://a.example/', href: 'https://a.example/' },
      { text: '"><img src=x onerror=alert(1)>' },
    ]);
  });

  it('refuses hrefs that are not http(s)', () => {
    expect(safeHref('javascript:alert(1)')).toBeNull();
    expect(safeHref('not a url')).toBeNull();
    expect(safeHref('https://example.com')).toBe('https://example.com/');
  });
});
