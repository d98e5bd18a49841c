import { unwatchFile, watchFile } from "node:fs";

/** What a reload of watched files reports (and `onReload` receives). */
export interface ReloadResult {
  ok: boolean;
  changed: boolean;
  error?: string;
}

export interface WatchedFilesOptions {
  /** How often the files' mtimes are checked, ms (default 2000; 0 = no watching, reload() only). */
  pollMs?: number;
  /** Called after a reload that changed what the files hold, or failed (error set). */
  onReload?: (r: ReloadResult) => void;
}

/**
 * What WatchedPemFiles and WatchedCrl share: polling files for changes (a changed mtime, size or
 * inode calls `reload()`), and the reload bookkeeping their status reports (`lastError`,
 * `lastReloadAt`, `reloads`).
 */
export abstract class WatchedFiles {
  lastError: string | null = null;
  lastReloadAt: string | null = null;
  reloads = 0;
  private watched: string[] = [];

  constructor(protected readonly opts: WatchedFilesOptions) {}

  /** Re-reads the files; on an error what they held before stays. */
  abstract reload(): ReloadResult;

  /** Polls `file` for changes (once per file; not when pollMs is 0). */
  protected watch(file: string): void {
    const poll = this.opts.pollMs ?? 2000;
    if (poll <= 0 || this.watched.includes(file)) return;
    this.watched.push(file);
    watchFile(file, { interval: poll, persistent: false }, (cur, prev) => {
      if (cur.mtimeMs !== prev.mtimeMs || cur.size !== prev.size || cur.ino !== prev.ino) this.reload();
    });
  }

  /** Stops polling. */
  protected unwatch(): void {
    for (const f of this.watched) unwatchFile(f);
    this.watched = [];
  }

  /** A reload's read failed: keeps the error, tells onReload and returns the failed result. */
  protected failed(e: unknown): ReloadResult {
    this.lastError = (e as Error).message;
    const r = { ok: false, changed: false, error: this.lastError };
    this.opts.onReload?.(r);
    return r;
  }

  /** A reload's read succeeded: clears the error and stamps the time. */
  protected succeeded(): void {
    this.lastError = null;
    this.lastReloadAt = new Date().toISOString();
  }
}
