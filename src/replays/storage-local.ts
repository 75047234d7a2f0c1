import { randomBytes } from 'node:crypto';
import { copyFile, mkdir, readdir, rename, rm, stat, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { checkKey, isReplayKey, type ReplayStorage, type StoredReplay } from './storage.js';

/**
 * Replays as files in one folder (RECORDINGS_DIR/replays/<key>). `put` renames the finished file
 * into place, so a key names a whole file or nothing; from another file system it is copied
 * next to its place first under a name no key has, then renamed.
 */
export class LocalReplayStorage implements ReplayStorage {
  constructor(
    /** The folder the files are kept in. */
    readonly dir: string,
  ) {}

  async put(key: string, file: string): Promise<void> {
    checkKey(key);
    await mkdir(this.dir, { recursive: true });
    const target = join(this.dir, key);
    try {
      await rename(file, target);
      return;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EXDEV') throw error;
    }
    const partial = join(this.dir, `.partial-${randomBytes(8).toString('hex')}`);
    try {
      await copyFile(file, partial);
      await rename(partial, target);
    } finally {
      await rm(partial, { force: true });
    }
    await rm(file, { force: true });
  }

  async stat(key: string): Promise<{ size: number } | undefined> {
    checkKey(key);
    try {
      const info = await stat(join(this.dir, key));
      return info.isFile() ? { size: info.size } : undefined;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw error;
    }
  }

  path(key: string): string {
    checkKey(key);
    return join(this.dir, key);
  }

  async delete(key: string): Promise<void> {
    checkKey(key);
    await unlink(join(this.dir, key)).catch((error: NodeJS.ErrnoException) => {
      if (error.code !== 'ENOENT') throw error;
    });
  }

  async list(): Promise<StoredReplay[]> {
    let names: string[];
    try {
      names = await readdir(this.dir);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw error;
    }
    const now = Date.now();
    const out: StoredReplay[] = [];
    for (const key of names.filter(isReplayKey)) {
      const info = await stat(join(this.dir, key)).catch(() => undefined);
      if (info?.isFile()) out.push({ key, ageMs: Math.max(0, now - info.mtimeMs) });
    }
    return out;
  }
}
