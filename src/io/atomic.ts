// Atomic writes for files and folders, so that a crash or a kill at any moment leaves either the previous
// complete version or the new complete one, never a torn mix. Files: write a temp sibling, fsync, rename over
// the target, fsync the folder. Folders: fill a temp sibling folder, fsync it, then swap it in with two
// renames (old → `<name>.old-<pid>-<n>`, new → name) and delete the old one. The instant between the two
// renames is covered by recovery: `recoverInterruptedReplace` puts the old folder back when the path is
// missing. Leftovers of dead processes are swept on the next successful replace.
import { constants as fsConstants } from 'node:fs';
import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import { UserError } from '../errors.ts';

let tempCounter = 0;

function siblingName(target: string, kind: 'tmp' | 'old'): string {
  tempCounter += 1;
  return `${target}.${kind}-${process.pid}-${tempCounter}`;
}

function errorCode(err: unknown): string | undefined {
  return typeof err === 'object' && err !== null && 'code' in err ? String((err as { code: unknown }).code) : undefined;
}

/** fsync a folder so that renames inside it survive a power loss; a no-op where the OS cannot (Windows). */
export async function syncDirectory(dir: string): Promise<void> {
  let handle: fs.FileHandle | undefined;
  try {
    handle = await fs.open(dir, fsConstants.O_RDONLY);
    await handle.sync();
  } catch (err) {
    const code = errorCode(err);
    if (code !== 'EISDIR' && code !== 'EPERM' && code !== 'EINVAL' && code !== 'EACCES') throw err;
  } finally {
    await handle?.close();
  }
}

async function writeAndSync(file: string, data: Uint8Array | string): Promise<void> {
  const handle = await fs.open(file, 'wx');
  try {
    await handle.writeFile(data);
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/** Writes `data` to `target` atomically: readers see the old contents or the new, never part of either.
 *  The parent folder is created if needed. */
export async function writeFileAtomic(target: string, data: Uint8Array | string): Promise<void> {
  const temp = siblingName(target, 'tmp');
  try {
    await fs.mkdir(path.dirname(target), { recursive: true });
    await writeAndSync(temp, data);
    await fs.rename(temp, target);
  } catch (err) {
    await fs.rm(temp, { force: true }).catch(() => {}); // nothing to remove where the folder is not one
    throw describeWriteError(target, err);
  }
  await syncDirectory(path.dirname(target));
  await removeDeadLeftovers(target);
}

/** Writes `data` to a new file in a folder being filled, with fsync, failing if the file already exists. */
export async function writeFileSynced(file: string, data: Uint8Array | string): Promise<void> {
  try {
    await writeAndSync(file, data);
  } catch (err) {
    throw describeWriteError(file, err);
  }
}

function describeWriteError(target: string, err: unknown): unknown {
  const code = errorCode(err);
  if (code === 'ENOENT') return new UserError(`cannot write ${target}: its folder does not exist`);
  if (code === 'EACCES' || code === 'EPERM') return new UserError(`cannot write ${target}: permission denied`);
  if (code === 'ENOSPC') return new UserError(`cannot write ${target}: no space left on the device`);
  if (code === 'EISDIR') return new UserError(`cannot write ${target}: it is a folder`);
  if (code === 'ENOTDIR' || code === 'EEXIST') return new UserError(`cannot write ${target}: a file stands where its folder should be`);
  return err;
}

function processIsAlive(pid: number): boolean {
  if (pid === process.pid) return true;
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return errorCode(err) === 'EPERM';
  }
}

interface Leftover {
  path: string;
  kind: 'tmp' | 'old';
  pid: number;
}

async function findLeftovers(target: string): Promise<Leftover[]> {
  const dir = path.dirname(target);
  const base = path.basename(target);
  let names: string[];
  try {
    names = await fs.readdir(dir);
  } catch {
    return [];
  }
  const pattern = /^\.(tmp|old)-(\d+)-\d+$/;
  const leftovers: Leftover[] = [];
  for (const name of names) {
    if (!name.startsWith(base)) continue;
    const match = pattern.exec(name.slice(base.length));
    if (match) leftovers.push({ path: path.join(dir, name), kind: match[1] as 'tmp' | 'old', pid: Number(match[2]) });
  }
  return leftovers;
}

async function exists(p: string): Promise<boolean> {
  try {
    await fs.lstat(p);
    return true;
  } catch (err) {
    if (errorCode(err) === 'ENOENT') return false;
    throw err;
  }
}

/**
 * If `target` is missing because a replace was interrupted between its two renames, moves the previous
 * folder (`<target>.old-<pid>-<n>`, complete by construction) back into place. Returns true when it did.
 * Explains, rather than guesses, when the writer is still running or several candidates exist.
 */
export async function recoverInterruptedReplace(target: string): Promise<boolean> {
  if (await exists(target)) return false;
  const olds = (await findLeftovers(target)).filter((leftover) => leftover.kind === 'old');
  if (olds.length === 0) return false;
  const live = olds.find((leftover) => leftover.pid !== process.pid && processIsAlive(leftover.pid));
  if (live) {
    throw new UserError(
      `${target} is missing while process ${live.pid} is replacing it (previous version at ${live.path}); retry when it finishes`,
    );
  }
  if (olds.length > 1) {
    const list = olds.map((leftover) => leftover.path).join(', ');
    throw new UserError(`${target} is missing and several earlier versions are left over (${list}); rename the one you want to ${target}`);
  }
  await fs.rename(olds[0]!.path, target);
  await syncDirectory(path.dirname(target));
  return true;
}

async function syncTree(dir: string): Promise<void> {
  for (const entry of await fs.readdir(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) {
      await syncTree(full);
    } else if (entry.isFile()) {
      const handle = await fs.open(full, fsConstants.O_RDONLY);
      try {
        await handle.sync();
      } finally {
        await handle.close();
      }
    }
  }
  await syncDirectory(dir);
}

/**
 * Replaces the folder `target` with one built by `fill(tempDir)`, atomically as far as POSIX allows: `fill`
 * writes into a fresh temp sibling; if it throws, the temp folder is removed and `target` is untouched.
 * Then everything is fsynced and swapped in. Leftovers of earlier interrupted replaces by dead processes
 * are removed afterwards.
 */
export async function replaceDirectoryAtomic(target: string, fill: (tempDir: string) => Promise<void>): Promise<void> {
  const parent = path.dirname(target);
  await recoverInterruptedReplace(target);
  const temp = siblingName(target, 'tmp');
  try {
    await fs.mkdir(parent, { recursive: true }); // a run folder that nothing has created yet (e.g. --out new/run)
    await fs.mkdir(temp);
  } catch (err) {
    throw describeWriteError(temp, err);
  }
  try {
    await fill(temp);
    await syncTree(temp);
  } catch (err) {
    await fs.rm(temp, { recursive: true, force: true });
    throw err;
  }
  const targetExisted = await exists(target);
  const old = siblingName(target, 'old');
  if (targetExisted) {
    const stat = await fs.lstat(target);
    if (!stat.isDirectory()) {
      await fs.rm(temp, { recursive: true, force: true });
      throw new UserError(`cannot replace ${target}: it exists and is not a folder`);
    }
    await fs.rename(target, old);
  }
  try {
    await fs.rename(temp, target);
  } catch (err) {
    if (targetExisted) await fs.rename(old, target);
    await fs.rm(temp, { recursive: true, force: true });
    throw describeWriteError(target, err);
  }
  await syncDirectory(parent);
  if (targetExisted) await fs.rm(old, { recursive: true, force: true });
  await removeDeadLeftovers(target);
}

async function removeDeadLeftovers(target: string): Promise<void> {
  for (const leftover of await findLeftovers(target)) {
    if (!processIsAlive(leftover.pid)) await fs.rm(leftover.path, { recursive: true, force: true });
  }
}
