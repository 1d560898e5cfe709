/**
 * What every fieldline .deb needs besides its files (shared by the edge and the server packages):
 * the run-time npm packages it ships (a dependency closure copied from the repo's install), the
 * control file, a machine-readable copyright file naming every bundled package and its licence,
 * the changelog (also the one place the maintainer is written), Depends for native modules read
 * from their ELF headers, the dpkg-deb build, and lintian.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, cpSync, existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { gzipSync } from 'node:zlib';

/** The fields of a package.json the packaging reads. */
export interface PackageJson {
  name: string;
  version: string;
  dependencies?: Record<string, string>;
  optionalDependencies?: Record<string, string>;
  os?: string[];
  cpu?: string[];
  [k: string]: unknown;
}

export const readPackageJson = (dir: string): PackageJson => JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as PackageJson;

/** Where Node would find `name` when required from `fromDir` (nearest node_modules upwards, not above `top`). */
export function resolvePackageDir(name: string, fromDir: string, top: string): string | undefined {
  for (let dir = fromDir; ; dir = dirname(dir)) {
    const candidate = join(dir, 'node_modules', name);
    if (existsSync(join(candidate, 'package.json'))) return candidate;
    if (dir === top || dir === dirname(dir)) return undefined;
  }
}

/**
 * Development files of npm packages (lint configs, VCS files, CI scripts, `.bin` links): nothing
 * loads them at run time, and lintian flags several (package-contains-eslint-config-file).
 */
export const NOT_SHIPPED = /\/node_modules\/\.bin(\/|$)|\/(\.eslintrc[^/]*|\.npmignore|\.gitignore|\.gitattributes|\.gitmodules|\.github|\.travis\.yml|__pycache__|eslint\.config\.[cm]?js)$|\.py$|\/fastify\/integration$/;

export interface ClosureOptions {
  /** The repository root: packages are looked up below it. */
  repo: string;
  /** Where the package installed at `src` goes in the staged tree. */
  dest(src: string): string;
  /** Packages never copied (workspaces built separately, build-only packages). */
  skip?(name: string): boolean;
  /** Leaves out optional dependencies that declare `os`/`cpu` (platform-specific native builds). @default false */
  skipPlatformOptional?: boolean;
}

/**
 * Copies the run-time dependency closure of `roots` (each a package name and the folder it is
 * required from) as the repo's install has it, nesting kept, without {@link NOT_SHIPPED} files.
 * Returns the source folders copied (for the copyright file).
 */
export function copyPackageClosure(roots: Array<{ name: string; from: string }>, o: ClosureOptions): string[] {
  const copied = new Set<string>();
  const visit = (name: string, fromDir: string, optional: boolean): void => {
    if (o.skip?.(name)) return;
    const src = resolvePackageDir(name, fromDir, o.repo);
    if (!src) {
      if (optional) return;
      throw new Error(`dependency ${name} (needed by ${fromDir}) is not installed; run npm ci`);
    }
    if (copied.has(src)) return;
    const pkg = readPackageJson(src);
    if (optional && o.skipPlatformOptional && (pkg.os || pkg.cpu)) return;
    copied.add(src);
    cpSync(src, o.dest(src), { recursive: true, dereference: true, filter: (p) => !NOT_SHIPPED.test(p) });
    for (const dep of Object.keys(pkg.dependencies ?? {})) visit(dep, src, false);
    for (const dep of Object.keys(pkg.optionalDependencies ?? {})) visit(dep, src, true);
  };
  for (const r of roots) visit(r.name, r.from, false);
  return [...copied];
}

export type DebArch = 'amd64' | 'arm64' | 'armhf' | 'all';

export interface ThirdParty {
  name: string;
  version: string;
  license: string;
  /** Copyright lines from its LICENSE file (or "the NAME authors"). */
  copyright: string[];
  licenseText?: string;
}

const COPYRIGHT_LINE = /^(copyright\b(?!\s+(notice|holders?|owners?|and|law)\b)|\(c\)\s*\d|©\s*\d)/i;

interface Pkg {
  name: string;
  version: string;
  license?: string | { type: string };
  author?: string | { name: string };
}

/** Reads name, version, licence and copyright lines of an installed npm package. */
export function thirdParty(dir: string): ThirdParty {
  const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as Pkg;
  const license = typeof pkg.license === 'string' ? pkg.license : (pkg.license?.type ?? 'UNKNOWN');
  const file = readdirSync(dir).find((f) => /^(licen[cs]e|copying)(\.(md|txt))?$/i.test(f));
  const text = file ? readFileSync(join(dir, file), 'utf8') : undefined;
  // "Copyright (c) 2016 Name", not the licence's own "copyright notice" / "COPYRIGHT HOLDERS".
  const lines = (text ?? '')
    .split(/\r?\n/)
    .map((l) => l.trim())
    .filter((l) => COPYRIGHT_LINE.test(l))
    .map((l) => l.replace(/^(copyright\s*)?((\(c\)|©)\s*)?/i, '').trim())
    .filter(Boolean);
  const author = typeof pkg.author === 'string' ? pkg.author : pkg.author?.name;
  return { name: pkg.name, version: pkg.version, license, copyright: lines.length ? [...new Set(lines)] : [author || `the ${pkg.name} authors`], licenseText: text };
}

const APACHE = `Licensed under the Apache License, Version 2.0 (the "License"); you may not
use this file except in compliance with the License. You may obtain a copy of
the License at http://www.apache.org/licenses/LICENSE-2.0
.
Unless required by applicable law or agreed to in writing, software distributed
under the License is distributed on an "AS IS" BASIS, WITHOUT WARRANTIES OR
CONDITIONS OF ANY KIND, either express or implied.
.
On Debian systems, the complete text of the Apache License 2.0 can be found in
"/usr/share/common-licenses/Apache-2.0".`;

const indent = (text: string): string =>
  text
    .trim()
    .split(/\r?\n/)
    .map((l) => (l.trim() === '' ? ' .' : ` ${l.replace(/\s+$/, '')}`))
    .join('\n');

/** DEP-5 licence short names for the SPDX ids npm packages use. */
const dep5Name = (spdx: string): string => spdx.replace(/^\((.*)\)$/, '$1').replace(/ OR /g, ' or ').replace(/ AND /g, ' and ');

/**
 * `/usr/share/doc/NAME/copyright` in the machine-readable format: fieldline's own files
 * (Apache-2.0), then one paragraph per file group holding third-party code, with the licence texts.
 */
export function copyrightFile(groups: Array<{ files: string; packages: ThirdParty[]; comment?: string }>): string {
  const out = [
    'Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/',
    'Upstream-Name: fieldline',
    '',
    'Files: *',
    'Copyright: 2025-2026 the fieldline contributors',
    'License: Apache-2.0',
    '',
  ];
  const texts = new Map<string, string>();
  for (const g of groups) {
    const licenses = [...new Set(g.packages.map((p) => dep5Name(p.license)))].sort();
    out.push(`Files: ${g.files}`);
    out.push(`Copyright: ${g.packages.flatMap((p) => p.copyright.map((c) => `${c} (${p.name})`)).join('\n ')}`);
    out.push(`License: ${licenses.join(' and ')}`);
    out.push(`Comment: ${g.comment ? `${g.comment} ` : ''}${g.packages.map((p) => `${p.name} ${p.version} (${p.license})`).join(', ')}`);
    out.push('');
    for (const p of g.packages) {
      const name = dep5Name(p.license);
      if (name === 'Apache-2.0' || texts.has(name) || !p.licenseText) continue;
      // One text per licence: the terms without this package's own copyright lines.
      texts.set(name, p.licenseText.split(/\r?\n/).filter((l) => !COPYRIGHT_LINE.test(l.trim())).join('\n'));
    }
  }
  out.push('License: Apache-2.0', indent(APACHE), '');
  for (const [name, text] of [...texts].sort()) out.push(`License: ${name}`, indent(text), '');
  return out.join('\n');
}

/** The maintainer as the changelog's newest trailer line names it (` -- Name <mail>  date`). */
export function maintainerOf(changelog: string): string {
  const m = /^ -- (.+?>) {2}/m.exec(changelog);
  if (!m) throw new Error('changelog has no " -- Name <email>  date" trailer line');
  return m[1]!;
}

/**
 * Who builds the packages, from the environment as Debian's own tools read it (`dch`, `debchange`):
 * `DEBFULLNAME` + `DEBEMAIL`, or `DEBEMAIL` alone as `Name <mail>`. Undefined when neither is set,
 * so the changelog's trailer stands. The changelog's address is the project's; a distributor who
 * ships their own build sets these, and becomes the Maintainer.
 */
export function maintainerFromEnv(env: NodeJS.ProcessEnv = process.env): string | undefined {
  const mail = env.DEBEMAIL?.trim();
  const name = env.DEBFULLNAME?.trim();
  if (!mail && !name) return undefined;
  const m = /^(.+?)\s*<([^<>\s]+@[^<>\s]+)>$/.exec(mail ?? '');
  const full = m ? `${name || m[1]} <${m[2]}>` : `${name ?? ''} <${mail ?? ''}>`;
  if (!/^[^<>]*\S [<][^<>\s]+@[^<>\s]+\.[^<>\s]+>$/.test(full)) {
    throw new Error(`DEBFULLNAME/DEBEMAIL: the maintainer must be "Name <mail@domain>" (DEBFULLNAME the name, DEBEMAIL the address), got "${full}"`);
  }
  return full;
}

/**
 * The changelog with its newest entry signed by `maintainer` (the Maintainer field is read from
 * there, and lintian wants the two to agree); unchanged when `maintainer` is undefined.
 */
export function withMaintainer(changelog: string, maintainer: string | undefined): string {
  maintainerOf(changelog);
  return maintainer ? changelog.replace(/^ -- (.+?>) {2}/m, () => ` -- ${maintainer}  `) : changelog;
}

/** The ELF shared objects under `dir` (native modules). */
export function elfFiles(dir: string): string[] {
  const out: string[] = [];
  for (const e of readdirSync(dir, { withFileTypes: true, recursive: true })) {
    if (!e.isFile() || !e.name.endsWith('.node')) continue;
    const p = join(e.parentPath, e.name);
    if (readFileSync(p).subarray(0, 4).toString('latin1') === '\x7fELF') out.push(p);
  }
  return out;
}

const versionKey = (v: string): number[] => v.split('.').map(Number);
const newer = (a: string, b: string): boolean => {
  const [x, y] = [versionKey(a), versionKey(b)];
  for (let i = 0; i < Math.max(x.length, y.length); i++) if ((x[i] ?? 0) !== (y[i] ?? 0)) return (x[i] ?? 0) > (y[i] ?? 0);
  return false;
};

/**
 * Depends for native modules, from their ELF headers (what dpkg-shlibdeps derives, without needing
 * the target architecture's libc symbol files): libc6 at the newest GLIBC_ symbol version used,
 * libstdc++6 and libgcc-s1 when they are linked.
 */
export function elfDepends(files: string[]): string[] {
  let glibc = '2.2';
  let cxx = '3.4';
  const needed = new Set<string>();
  for (const f of files) {
    const dyn = execFileSync('readelf', ['-d', f], { encoding: 'utf8' });
    for (const m of dyn.matchAll(/\(NEEDED\).*\[(.+)\]/g)) needed.add(m[1]!);
    const ver = execFileSync('readelf', ['-V', f], { encoding: 'utf8' });
    for (const m of ver.matchAll(/GLIBC_(\d+(?:\.\d+)+)/g)) if (newer(m[1]!, glibc)) glibc = m[1]!;
    for (const m of ver.matchAll(/GLIBCXX_(\d+(?:\.\d+)+)/g)) if (newer(m[1]!, cxx)) cxx = m[1]!;
  }
  const deps = [`libc6 (>= ${glibc})`];
  // GLIBCXX_3.4.21 is GCC 5's libstdc++ (the new string ABI).
  if (needed.has('libstdc++.so.6')) deps.push(newer(cxx, '3.4.20') ? 'libstdc++6 (>= 5)' : 'libstdc++6');
  if (needed.has('libgcc_s.so.1')) deps.push('libgcc-s1');
  return deps;
}

export interface DebSpec {
  name: string;
  version: string;
  arch: DebArch;
  /** The staged tree (becomes /). */
  root: string;
  depends: string[];
  recommends?: string[];
  section: string;
  summary: string;
  description: string[];
  homepage?: string;
  conffiles: string[];
  /** Folder with postinst / prerm / postrm (those present are used). */
  scriptsDir?: string;
  /** Signs the changelog's newest entry, and so the Maintainer field. @default maintainerFromEnv() */
  maintainer?: string;
  changelog: string;
  copyright: string;
}

/** Writes DEBIAN/ and the docs into `spec.root` and builds `outFile` with dpkg-deb. */
export function buildDebFromTree(spec: DebSpec, outFile: string): string {
  const doc = join(spec.root, 'usr/share/doc', spec.name);
  mkdirSync(doc, { recursive: true });
  writeFileSync(join(doc, 'copyright'), spec.copyright);
  const changelog = withMaintainer(spec.changelog, spec.maintainer ?? maintainerFromEnv());
  // A native package (version without a Debian revision) ships changelog.gz; gzip -9n equivalent.
  writeFileSync(join(doc, 'changelog.gz'), gzipSync(changelog, { level: 9 }));
  const debian = join(spec.root, 'DEBIAN');
  mkdirSync(debian, { recursive: true });
  const sizeKb = Number(execFileSync('du', ['-sk', '--exclude=DEBIAN', spec.root]).toString().split('\t')[0]);
  const control = [
    `Package: ${spec.name}`,
    `Version: ${spec.version}`,
    `Architecture: ${spec.arch}`,
    `Maintainer: ${maintainerOf(changelog)}`,
    `Installed-Size: ${sizeKb}`,
    `Depends: ${spec.depends.join(', ')}`,
    ...(spec.recommends?.length ? [`Recommends: ${spec.recommends.join(', ')}`] : []),
    `Section: ${spec.section}`,
    'Priority: optional',
    ...(spec.homepage ? [`Homepage: ${spec.homepage}`] : []),
    `Description: ${spec.summary}`,
    ...spec.description.map((l) => (l === '' ? ' .' : ` ${l}`)),
    '',
  ];
  writeFileSync(join(debian, 'control'), control.join('\n'));
  if (spec.conffiles.length) writeFileSync(join(debian, 'conffiles'), `${spec.conffiles.join('\n')}\n`);
  for (const script of ['postinst', 'prerm', 'postrm', 'preinst']) {
    const src = spec.scriptsDir && join(spec.scriptsDir, script);
    if (!src || !existsSync(src)) continue;
    cpSync(src, join(debian, script));
    chmodSync(join(debian, script), 0o755);
  }
  execFileSync('dpkg-deb', ['--root-owner-group', '-Zxz', '--build', spec.root, outFile], { stdio: ['ignore', 'ignore', 'inherit'] });
  return outFile;
}

export interface LintianResult {
  errors: string[];
  warnings: string[];
  output: string;
}

/** Runs lintian on a .deb (needs the Debian `lintian` package). */
export function lintian(deb: string): LintianResult {
  const r = spawnSync('lintian', ['--tag-display-limit', '0', deb], { encoding: 'utf8' });
  if (r.error) throw new Error(`lintian did not run (apt-get install lintian): ${r.error.message}`);
  const lines = `${r.stdout}${r.stderr}`.split('\n').filter(Boolean);
  return { errors: lines.filter((l) => l.startsWith('E: ')), warnings: lines.filter((l) => l.startsWith('W: ')), output: lines.join('\n') };
}
