/**
 * The local dialog journal (db_mode 1): an append-only JSON-lines file written with fdatasync
 * before the call goes on, so a call confirmed a moment before a crash (SIGKILL) is known after
 * the restart even when its asynchronous database write had not happened yet. One line per change:
 * `{"s": StoredDialog}` (confirmed, or its CSeqs / contacts / variables / timeout changed) or
 * `{"d": "<h_entry>.<h_id>"}` (ended). At open the file is replayed and rewritten with the live
 * dialogs only (tmp + fsync + rename); it is compacted the same way whenever it holds more than
 * 1000 lines and four times as many lines as live dialogs.
 *
 * @example
 *   const j = DialogJournal.open("/var/lib/olelo/dialog/dialogs.jsonl");
 *   const up = j.live();   // StoredDialog[] from before the restart
 */
import { closeSync, existsSync, fdatasyncSync, mkdirSync, openSync, readFileSync, writeSync } from "node:fs";
import { rewriteJsonLines } from "../../../lib/fs/json-lines.js";
import { dirname } from "node:path";
import { storedFromJson, storedToJson, type StoredDialog, type StoredDialogJson } from "./db-store.js";

type Line = { s: StoredDialogJson } | { d: string };

const keyOf = (hEntry: number, hId: number) => `${hEntry}.${hId}`;

export class DialogJournal {
  private fd: number;
  private readonly dialogs = new Map<string, Line & { s: unknown }>();
  private lines = 0;
  /** The file was there at open: its live set is the truth, even when empty (all calls ended). */
  readonly existed: boolean;

  private constructor(readonly path: string) {
    mkdirSync(dirname(path), { recursive: true });
    this.existed = existsSync(path);
    if (this.existed) replay(readFileSync(path, "utf8"), this.dialogs);
    this.fd = openSync(path, "a");
    this.compact();
  }

  static open(path: string): DialogJournal {
    return new DialogJournal(path);
  }

  /** The dialogs that were up, as stored. */
  live(): StoredDialog[] {
    return liveOf(this.dialogs);
  }

  save(s: StoredDialog): void {
    const line: Line = { s: storedToJson(s) };
    this.dialogs.set(keyOf(s.hEntry, s.hId), line as Line & { s: unknown });
    this.append(line);
  }

  remove(hEntry: number, hId: number): void {
    const k = keyOf(hEntry, hId);
    if (!this.dialogs.delete(k)) return;
    this.append({ d: k });
  }

  private append(l: Line): void {
    writeSync(this.fd, `${JSON.stringify(l)}\n`);
    fdatasyncSync(this.fd);
    this.lines++;
    if (this.lines > 1000 && this.lines > 4 * this.dialogs.size) this.compact();
  }

  private compact(): void {
    rewriteJsonLines(this.path, this.dialogs.values());
    closeSync(this.fd);
    this.fd = openSync(this.path, "a");
    this.lines = this.dialogs.size;
  }

  close(): void {
    closeSync(this.fd);
  }
}

/** Replays journal text into `into` (key → last `s` line of a dialog not ended since). */
function replay(text: string, into: Map<string, Line & { s: unknown }>): void {
  for (const raw of text.split("\n")) {
    if (!raw.trim()) continue;
    let l: Line;
    try {
      l = JSON.parse(raw) as Line;
    } catch {
      continue; // torn last line
    }
    if ("d" in l) into.delete(l.d);
    else if (l.s) into.set(keyOf(l.s.hEntry, l.s.hId), l as Line & { s: unknown });
  }
}

function liveOf(dialogs: Map<string, Line & { s: unknown }>): StoredDialog[] {
  return [...dialogs.values()].map((l) => storedFromJson((l as { s: StoredDialogJson }).s));
}

/** The live dialogs of a journal file without opening it for writing; null when there is no file. */
export function readJournal(path: string): StoredDialog[] | null {
  if (!existsSync(path)) return null;
  const m = new Map<string, Line & { s: unknown }>();
  replay(readFileSync(path, "utf8"), m);
  return liveOf(m);
}

/** The journal line of a live dialog (for files written whole, node-restore.ts). */
export function journalLine(s: StoredDialog): unknown {
  return { s: storedToJson(s) };
}
