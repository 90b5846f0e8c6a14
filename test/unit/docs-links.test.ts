import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';

const ROOT = path.resolve(import.meta.dirname, '../..');
const tracked = execFileSync('git', ['ls-files'], { cwd: ROOT, encoding: 'utf8' }).split('\n').filter(Boolean);
const markdown = tracked.filter((f) => f.endsWith('.md') && fs.existsSync(path.join(ROOT, f)));

describe('the documentation', () => {
  it('points at nothing outside the repository', () => {
    const outside = tracked
      .filter((f) => /\.(md|ts|mjs|js|json|conf|service)$/.test(f) && !f.endsWith('package-lock.json') && fs.existsSync(path.join(ROOT, f)))
      .filter((f) => /\.\.\/shared\/|shared\/spec|\/work\//.test(fs.readFileSync(path.join(ROOT, f), 'utf8')) && f !== 'test/unit/docs-links.test.ts');
    expect(outside).toEqual([]);
  });

  it('links only to files and headings that exist', () => {
    const broken: string[] = [];
    const anchors = (file: string) =>
      [...fs.readFileSync(file, 'utf8').matchAll(/^#+ (.+)$/gm)].map((m) =>
        m[1]!.toLowerCase().replace(/[^\p{L}\p{N} _-]/gu, '').replace(/ /g, '-'),
      );
    for (const file of markdown) {
      const text = fs.readFileSync(path.join(ROOT, file), 'utf8');
      for (const [, target] of text.matchAll(/\]\(([^)\s]+)\)/g)) {
        if (/^[a-z]+:/.test(target!)) continue;
        const [ref, anchor] = target!.split('#');
        const resolved = ref ? path.resolve(ROOT, path.dirname(file), ref) : path.join(ROOT, file);
        if (!fs.existsSync(resolved)) broken.push(`${file}: ${target}`);
        else if (anchor && resolved.endsWith('.md') && !anchors(resolved).includes(anchor)) broken.push(`${file}: ${target}`);
      }
    }
    expect(broken).toEqual([]);
  });

  it('names no issue numbers in the user-facing reference', () => {
    const docs = markdown.filter((f) => f.startsWith('docs/') || f === 'README.md');
    expect(docs.filter((f) => /\bissue (\d+|#)/i.test(fs.readFileSync(path.join(ROOT, f), 'utf8')))).toEqual([]);
  });
});
