import { execFileSync } from 'node:child_process';
import * as os from 'node:os';

/**
 * Who is reviewing: named on every annotation event. In order: an explicit name (the
 * pisarReview.reviewer setting, the CLI's --reviewer, or PISAR_REVIEWER), git's user.email in the
 * dataset's folder, else the OS user.
 */
export function defaultReviewer(options: { explicit?: string; env?: NodeJS.ProcessEnv; cwd?: string } = {}): string {
  const explicit = options.explicit?.trim() || options.env?.PISAR_REVIEWER?.trim();
  if (explicit) return explicit;
  const email = gitUserEmail(options.cwd);
  if (email) return email;
  try {
    const user = os.userInfo().username;
    if (user) return user;
  } catch {
    // No passwd entry (some containers): fall through.
  }
  return options.env?.USER?.trim() || options.env?.USERNAME?.trim() || 'reviewer';
}

function gitUserEmail(cwd: string | undefined): string | undefined {
  try {
    const out = execFileSync('git', ['config', 'user.email'], { cwd, encoding: 'utf8', timeout: 3000, stdio: ['ignore', 'pipe', 'ignore'], windowsHide: true });
    return out.trim() || undefined;
  } catch {
    // No git, not a repository, or no email set.
    return undefined;
  }
}
