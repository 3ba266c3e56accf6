import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';

/**
 * The refs of a Bulk API 2.0 job's rows waiting for their result, keyed by the hash of each row's key cells; rows
 * with the same key (identical insert rows) take their refs first in, first out.
 *
 * A job holds up to 100 MB of CSV (a million rows and more), and its results come only after the whole upload:
 * held in memory that is ~150 bytes per row. So the refs stay in a Map up to `spillAt` rows (200,000: ~30 MB),
 * then move to a scratch SQLite file (a temp directory removed on close), so memory stays bounded whatever the
 * job's size. On disk, 100,000 refs cost ~0.5 s to add and take, against ~0.1 s in memory (measured), which is why
 * smaller jobs keep them in memory. SQLite is already here for the store; an indexed table is what a spilled
 * multimap needs, nothing to write by hand.
 */
export class PendingRefs {
  private memory: Map<string, string[]> | undefined = new Map();
  private disk: SpilledRefs | undefined;
  size = 0;

  constructor(private readonly spillAt = 200_000) {}

  add(key: string, ref: string): void {
    this.size++;
    if (this.disk) return this.disk.add(key, ref);
    const memory = this.memory!;
    const list = memory.get(key);
    if (list) list.push(ref);
    else memory.set(key, [ref]);
    if (this.size > this.spillAt) {
      this.disk = new SpilledRefs();
      // Map iteration follows insertion order, so refs sharing a key keep their order on disk.
      for (const [k, refs] of memory) for (const r of refs) this.disk.add(k, r);
      this.memory = undefined;
    }
  }

  /** The first ref still waiting under `key`, now taken. */
  take(key: string): string | undefined {
    let ref: string | undefined;
    if (this.disk) {
      ref = this.disk.take(key);
    } else {
      const list = this.memory!.get(key);
      ref = list?.shift();
      if (list && list.length === 0) this.memory!.delete(key);
    }
    if (ref !== undefined) this.size--;
    return ref;
  }

  /** Every ref never taken, then nothing is left. */
  *drain(): Generator<string> {
    if (this.disk) {
      yield* this.disk.drain();
    } else {
      for (const list of this.memory!.values()) yield* list;
      this.memory!.clear();
    }
    this.size = 0;
  }

  /** Releases the scratch file, if there is one. */
  close(): void {
    this.disk?.close();
    this.disk = undefined;
  }
}

class SpilledRefs {
  private readonly dir = mkdtempSync(join(tmpdir(), 'liaison-bulk-refs-'));
  private readonly db: Database.Database;
  private readonly insert: Database.Statement;
  private readonly first: Database.Statement;
  private readonly remove: Database.Statement;
  private seq = 0;

  constructor() {
    this.db = new Database(join(this.dir, 'refs.db'));
    // Scratch data for one job: no journal, no sync; a crash loses nothing that the export journal does not hold.
    this.db.pragma('journal_mode = OFF');
    this.db.pragma('synchronous = OFF');
    // One b-tree ordered by (key, seq): a take is one seek and one delete in it.
    this.db.exec(
      'create table refs (key text not null, seq integer not null, ref text not null, primary key (key, seq)) without rowid',
    );
    this.insert = this.db.prepare('insert into refs (key, seq, ref) values (?, ?, ?)');
    this.first = this.db.prepare('select seq, ref from refs where key = ? order by seq limit 1');
    this.remove = this.db.prepare('delete from refs where key = ? and seq = ?');
    // One transaction for the file's whole life: every statement on its own would write its pages to the file
    // (measured: 10 s more for a 100,000-row job). Nothing here needs to outlive the job.
    this.db.exec('begin');
  }

  add(key: string, ref: string): void {
    this.insert.run(key, this.seq++, ref);
  }

  take(key: string): string | undefined {
    const row = this.first.get(key) as { seq: number; ref: string } | undefined;
    if (!row) return undefined;
    this.remove.run(key, row.seq);
    return row.ref;
  }

  *drain(): Generator<string> {
    const rows = this.db.prepare('select ref from refs order by seq').iterate() as Iterable<{ ref: string }>;
    for (const row of rows) yield row.ref;
    this.db.exec('delete from refs');
  }

  close(): void {
    this.db.exec('commit');
    this.db.close();
    rmSync(this.dir, { recursive: true, force: true });
  }
}
