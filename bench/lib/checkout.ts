/**
 * Another commit of this repository, ready to run beside this one (`npm run bench -- --compare=<ref>`):
 * a detached git worktree in the system's temp directory with its own `npm ci`. It is kept,
 * named by commit, so the next comparison with the same ref starts in seconds; `git worktree
 * prune` forgets it once the temp directory is cleaned.
 */
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ROOT } from './proc.js';

export interface Checkout {
  /** As given on the command line. */
  ref: string;
  /** Its short commit id, for labels. */
  commit: string;
  /** The worktree: pass as `root` to startOurs. */
  root: string;
}

export function checkout(ref: string, log: (line: string) => void): Checkout {
  const git = (...args: string[]) => execFileSync('git', ['-C', ROOT, ...args], { encoding: 'utf8' }).trim();
  const commit = git('rev-parse', '--verify', `${ref}^{commit}`);
  const root = join(tmpdir(), `streammeon-bench-${commit.slice(0, 12)}`);
  if (!existsSync(join(root, 'package.json'))) {
    git('worktree', 'prune');
    log(`  --compare: checking out ${ref} (${commit.slice(0, 7)}) in ${root}`);
    git('worktree', 'add', '--detach', '--force', root, commit);
  }
  // npm writes this file last: its absence means the install never ran or did not finish.
  if (!existsSync(join(root, 'node_modules', '.package-lock.json'))) {
    log(`  --compare: npm ci in ${root}`);
    execFileSync('npm', ['ci', '--no-audit', '--no-fund'], {
      cwd: root,
      stdio: ['ignore', 'ignore', 'inherit'],
    });
  }
  return { ref, commit: commit.slice(0, 7), root };
}
