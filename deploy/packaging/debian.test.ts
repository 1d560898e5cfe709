/**
 * The maintainer of fieldline's .debs: the changelog's trailer by default (the project's address),
 * or whoever builds them, from DEBFULLNAME/DEBEMAIL as Debian's own tools read them; the
 * Maintainer field and the changelog's signature always agree.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { afterAll, describe, expect, it } from 'vitest';
import { cleanupAll, tempDir } from '@fieldline/harness';
import { buildDebFromTree, maintainerFromEnv, maintainerOf, withMaintainer } from './debian.js';

afterAll(() => cleanupAll());

const changelog = readFileSync(new URL('../server/changelog', import.meta.url), 'utf8');

describe('maintainer', () => {
  it('is the changelog trailer unless DEBFULLNAME/DEBEMAIL name someone', () => {
    expect(maintainerFromEnv({})).toBeUndefined();
    expect(maintainerFromEnv({ DEBFULLNAME: 'Ada Lovelace', DEBEMAIL: 'ada@example.org' })).toBe('Ada Lovelace <ada@example.org>');
    expect(maintainerFromEnv({ DEBEMAIL: 'Ada Lovelace <ada@example.org>' })).toBe('Ada Lovelace <ada@example.org>');
    // DEBFULLNAME wins over a name inside DEBEMAIL, as in dch.
    expect(maintainerFromEnv({ DEBFULLNAME: 'Ops Team', DEBEMAIL: 'Ada <ada@example.org>' })).toBe('Ops Team <ada@example.org>');
  });

  it('refuses an address lintian would reject, naming the variables', () => {
    expect(() => maintainerFromEnv({ DEBEMAIL: 'ada@example.org' })).toThrow(/DEBFULLNAME\/DEBEMAIL: .*"Name <mail@domain>"/);
    expect(() => maintainerFromEnv({ DEBFULLNAME: 'Ada' })).toThrow(/DEBFULLNAME\/DEBEMAIL/);
    expect(() => maintainerFromEnv({ DEBFULLNAME: 'Ada', DEBEMAIL: 'fieldline@localhost' })).toThrow(/DEBFULLNAME\/DEBEMAIL/);
  });

  it('signs only the newest changelog entry', () => {
    const two = `${changelog}\nfieldline-server (0.0.9) unstable; urgency=medium\n\n  * Older.\n\n -- Someone Else <else@example.org>  Mon, 30 Nov 2026 08:00:00 +0000\n`;
    const signed = withMaintainer(two, 'Ada Lovelace <ada@example.org>');
    expect(maintainerOf(signed)).toBe('Ada Lovelace <ada@example.org>');
    expect(signed).toContain(' -- Someone Else <else@example.org>  Mon, 30 Nov 2026');
    expect(signed.split('\n').length).toBe(two.split('\n').length);
    expect(withMaintainer(two, undefined)).toBe(two);
  });

  it('is the same in the built package control file and its changelog.gz', () => {
    const built = (maintainer: string | undefined): { field: string; signed: string } => {
      const dir = tempDir('deb-maintainer');
      const root = join(dir, 'root');
      mkdirSync(join(root, 'usr/lib/fieldline-test'), { recursive: true });
      const deb = buildDebFromTree(
        { name: 'fieldline-test', version: '0.1.0', arch: 'all', root, depends: ['nodejs'], section: 'misc', summary: 'test package', description: ['A test.'], conffiles: [], changelog, copyright: 'test\n', maintainer },
        join(dir, 'fieldline-test_0.1.0_all.deb'),
      );
      const field = execFileSync('dpkg-deb', ['-f', deb, 'Maintainer'], { encoding: 'utf8' }).trim();
      const gz = execFileSync('dpkg-deb', ['--fsys-tarfile', deb]);
      const x = join(dir, 'x');
      mkdirSync(x);
      execFileSync('tar', ['-x', '-C', x, './usr/share/doc/fieldline-test/changelog.gz'], { input: gz });
      return { field, signed: maintainerOf(gunzipSync(readFileSync(join(x, 'usr/share/doc/fieldline-test/changelog.gz'))).toString()) };
    };
    const own = built('Ada Lovelace <ada@example.org>');
    expect(own).toEqual({ field: 'Ada Lovelace <ada@example.org>', signed: 'Ada Lovelace <ada@example.org>' });
    const project = built(maintainerFromEnv({}));
    expect(project.field).toBe(maintainerOf(changelog));
    expect(project.signed).toBe(project.field);
  });
});
