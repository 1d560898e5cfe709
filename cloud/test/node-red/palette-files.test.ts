import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

// Node-RED conventions, checked without a browser: every node listed in package.json has its
// .js and .html, the editor script registers the type, and every default has an edit field
// and the help text exists (a typo here only shows up as a broken editor dialog).
const root = join(dirname(fileURLToPath(import.meta.url)), '../../node-red');
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { name: string; keywords: string[]; 'node-red': { nodes: Record<string, string> } };

interface Registration {
  type: string;
  def: { category: string; defaults: Record<string, unknown>; credentials?: Record<string, unknown>; label?: unknown };
}

function editorRegistrations(html: string): Registration[] {
  const scripts = [...html.matchAll(/<script type="text\/javascript">([\s\S]*?)<\/script>/g)].map((m) => m[1]!);
  const registered: Registration[] = [];
  const RED = {
    nodes: { registerType: (type: string, def: Registration['def']) => registered.push({ type, def }) },
    validators: { number: () => () => true, regex: () => () => true },
  };
  for (const code of scripts) new Function('RED', code)(RED);
  return registered;
}

describe('palette package', () => {
  it('follows the Node-RED package conventions', () => {
    expect(pkg.name).toMatch(/^node-red-contrib-/);
    expect(pkg.keywords).toContain('node-red');
    expect(Object.keys(pkg['node-red'].nodes).length).toBe(5);
  });

  it.each(Object.entries(pkg['node-red'].nodes))('%s: editor definition, edit fields and help', (_set, jsFile) => {
    const js = readFileSync(join(root, jsFile), 'utf8');
    const html = readFileSync(join(root, jsFile.replace(/\.js$/, '.html')), 'utf8');
    const runtimeTypes = [...js.matchAll(/registerType\('([^']+)'/g)].map((m) => m[1]);
    const regs = editorRegistrations(html);
    expect(regs.map((r) => r.type)).toEqual(runtimeTypes);
    for (const { type, def } of regs) {
      const prefix = def.category === 'config' ? 'node-config-input-' : 'node-input-';
      expect(html).toContain(`data-template-name="${type}"`);
      expect(html).toMatch(new RegExp(`data-help-name="${type}">[\\s\\S]{200,}?</script>`));
      for (const key of [...Object.keys(def.defaults), ...Object.keys(def.credentials ?? {})]) {
        expect(html, `${type}: no edit field for "${key}"`).toContain(`id="${prefix}${key}"`);
      }
    }
  });
});
