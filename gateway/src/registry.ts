import { createHash, randomBytes, scrypt as scryptCb, timingSafeEqual, type ScryptOptions } from 'node:crypto';
import { open, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { assertDeviceId, ContractError } from '@fieldline/contract';
import { RegistryError } from './errors.js';

/**
 * The device registry: one JSON file, secrets stored as scrypt hashes. The CLI
 * (`fieldline-gateway devices add|list|revoke`) edits it; a running gateway re-reads it when
 * its mtime changes, so added or revoked devices take effect without a restart.
 */
export interface DeviceRecord {
  /** `scrypt$N$r$p$salt$hash` (base64), or absent for certificate-only devices. */
  secret?: string;
  createdAt: string;
  revokedAt?: string;
}

interface RegistryFile {
  v: 1;
  devices: Record<string, DeviceRecord>;
}

export type VerifyResult = 'ok' | 'unknown' | 'revoked' | 'bad_password';

// OWASP's scrypt floor (2^14, 8, 1): ~16 MiB and tens of ms per check, paid once per device
// per process thanks to the verified-secret cache below.
const SCRYPT = { N: 16_384, r: 8, p: 1, keylen: 32 } as const;

function scrypt(password: Buffer | string, salt: Buffer, keylen: number, opts: ScryptOptions): Promise<Buffer> {
  return new Promise((res, rej) => scryptCb(password, salt, keylen, opts, (err, key) => (err ? rej(err) : res(key))));
}

export async function hashSecret(password: string): Promise<string> {
  const salt = randomBytes(16);
  const key = await scrypt(password, salt, SCRYPT.keylen, { N: SCRYPT.N, r: SCRYPT.r, p: SCRYPT.p, maxmem: 64 * 1024 * 1024 });
  return `scrypt$${SCRYPT.N}$${SCRYPT.r}$${SCRYPT.p}$${salt.toString('base64')}$${key.toString('base64')}`;
}

export async function verifySecret(stored: string, password: Buffer | string): Promise<boolean> {
  const parts = stored.split('$');
  if (parts.length !== 6 || parts[0] !== 'scrypt') return false;
  const [N, r, p] = parts.slice(1, 4).map(Number) as [number, number, number];
  const salt = Buffer.from(parts[4]!, 'base64');
  const want = Buffer.from(parts[5]!, 'base64');
  const got = await scrypt(password, salt, want.length, { N, r, p, maxmem: 64 * 1024 * 1024 });
  return got.length === want.length && timingSafeEqual(got, want);
}

function emptyRegistry(): RegistryFile {
  return { v: 1, devices: Object.create(null) as Record<string, DeviceRecord> };
}

async function readRegistry(file: string): Promise<RegistryFile> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return emptyRegistry();
    throw new RegistryError(`cannot read device registry ${file}: ${(err as Error).message}`, { cause: err });
  }
  let obj: unknown;
  try {
    obj = JSON.parse(text);
  } catch (err) {
    throw new RegistryError(`device registry ${file} is not valid JSON: ${(err as Error).message}`, { cause: err });
  }
  const o = obj as Partial<RegistryFile>;
  if (!o || o.v !== 1 || typeof o.devices !== 'object' || o.devices === null) {
    throw new RegistryError(`device registry ${file}: expected {"v":1,"devices":{...}}`);
  }
  // A null-prototype map: a client id such as `__proto__` must read back as absent.
  const devices = Object.assign(Object.create(null) as Record<string, DeviceRecord>, o.devices);
  return { v: 1, devices };
}

// Serializes edits within this process; the lock file serializes CLI processes.
let editChain: Promise<unknown> = Promise.resolve();

async function withLock<T>(file: string, fn: () => Promise<T>): Promise<T> {
  const run = async (): Promise<T> => {
    const lock = `${file}.lock`;
    const deadline = Date.now() + 10_000;
    for (;;) {
      try {
        await (await open(lock, 'wx')).close();
        break;
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw new RegistryError(`cannot lock ${lock}`, { cause: err });
        if (Date.now() > deadline) throw new RegistryError(`device registry is locked by ${lock}; remove it if no CLI is running`);
        await new Promise((r) => setTimeout(r, 50));
      }
    }
    try {
      return await fn();
    } finally {
      await rm(lock, { force: true });
    }
  };
  const next = editChain.then(run, run);
  editChain = next.catch(() => undefined);
  return next;
}

async function edit(file: string, change: (reg: RegistryFile) => void | Promise<void>): Promise<void> {
  await withLock(file, async () => {
    const reg = await readRegistry(file);
    await change(reg);
    const tmp = `${file}.${process.pid}.tmp`;
    await writeFile(tmp, `${JSON.stringify(reg, null, 2)}\n`, { mode: 0o600 });
    await rename(tmp, file);
  });
}

function checkId(deviceId: string): void {
  try {
    assertDeviceId(deviceId, 'deviceId');
  } catch (err) {
    throw new RegistryError((err as ContractError).message, { cause: err });
  }
}

/** Adds a device (or sets a new password and clears a revocation). `password` null = certificate only. */
export async function addDevice(registryFile: string, deviceId: string, password: string | null): Promise<void> {
  checkId(deviceId);
  if (password !== null && password.length < 8) throw new RegistryError('password: must be at least 8 characters');
  const secret = password === null ? undefined : await hashSecret(password);
  await edit(registryFile, (reg) => {
    reg.devices[deviceId] = { ...(secret ? { secret } : {}), createdAt: new Date().toISOString() };
  });
}

/** Marks a device revoked: it can no longer connect, and a connected session is closed. */
export async function revokeDevice(registryFile: string, deviceId: string): Promise<void> {
  checkId(deviceId);
  await edit(registryFile, (reg) => {
    const rec = reg.devices[deviceId];
    if (!rec) throw new RegistryError(`device ${deviceId} is not registered`);
    rec.revokedAt ??= new Date().toISOString();
  });
}

export interface DeviceListing {
  id: string;
  createdAt: string;
  revokedAt?: string;
  auth: 'password' | 'certificate';
}

export async function listDevices(registryFile: string): Promise<DeviceListing[]> {
  const reg = await readRegistry(registryFile);
  return Object.keys(reg.devices)
    .sort()
    .map((id) => {
      const r = reg.devices[id]!;
      return { id, createdAt: r.createdAt, ...(r.revokedAt ? { revokedAt: r.revokedAt } : {}), auth: r.secret ? 'password' : 'certificate' };
    });
}

/** The gateway's read-only view of the registry file, re-read when the file changes. */
export class DeviceRegistry {
  private devices: Record<string, DeviceRecord> = Object.create(null) as Record<string, DeviceRecord>;
  private mtimeMs = -1;
  private reloading: Promise<void> | undefined;
  /** sha256(secret, password) of passwords that passed scrypt, so reconnects skip scrypt. */
  private readonly verified = new Map<string, Buffer>();

  constructor(readonly file: string) {}

  /** Re-reads the file if its mtime changed; returns true when it did. */
  async refresh(): Promise<boolean> {
    if (this.reloading) {
      await this.reloading;
      return false;
    }
    let changed = false;
    this.reloading = (async () => {
      const m = await stat(this.file).then((s) => s.mtimeMs, () => 0);
      if (m === this.mtimeMs) return;
      this.devices = (await readRegistry(this.file)).devices;
      this.mtimeMs = m;
      changed = true;
    })();
    try {
      await this.reloading;
    } finally {
      this.reloading = undefined;
    }
    return changed;
  }

  /** Known and not revoked: certificate-authenticated devices still honour revocation. */
  status(deviceId: string): 'active' | 'revoked' | 'unknown' {
    const rec = this.devices[deviceId];
    return !rec ? 'unknown' : rec.revokedAt ? 'revoked' : 'active';
  }

  async verify(deviceId: string, password: Buffer): Promise<VerifyResult> {
    await this.refresh();
    const rec = this.devices[deviceId];
    if (!rec) return 'unknown';
    if (rec.revokedAt) return 'revoked';
    if (!rec.secret) return 'bad_password';
    const fp = createHash('sha256').update(rec.secret).update('\0').update(password).digest();
    const known = this.verified.get(deviceId);
    if (known && timingSafeEqual(known, fp)) return 'ok';
    if (!(await verifySecret(rec.secret, password))) return 'bad_password';
    this.verified.set(deviceId, fp);
    return 'ok';
  }
}
