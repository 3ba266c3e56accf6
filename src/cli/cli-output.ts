/** Output helpers: aligned tables for people, JSON for scripts. Commands print only through these. */

export function printJson(value: unknown): void {
  process.stdout.write(JSON.stringify(value, null, 2) + '\n');
}

export type Cell = string | number | boolean | null | undefined;

/** An aligned plain-text table (no borders, so it pipes cleanly into grep/awk). */
export function formatTable(headers: string[], rows: Cell[][]): string {
  const text = rows.map((row) => row.map((cell) => (cell === null || cell === undefined ? '' : String(cell))));
  const widths = headers.map((header, i) => Math.max(header.length, ...text.map((row) => displayWidth(row[i] ?? ''))));
  const line = (cells: string[]) =>
    cells
      .map((cell, i) =>
        i === cells.length - 1 ? cell : cell + ' '.repeat(Math.max(0, widths[i]! - displayWidth(cell))),
      )
      .join('  ')
      .trimEnd();
  return [line(headers), line(widths.map((w) => '-'.repeat(w))), ...text.map(line)].join('\n') + '\n';
}

export function printTable(headers: string[], rows: Cell[][]): void {
  process.stdout.write(formatTable(headers, rows));
}

/** Key/value block for `show` commands. */
export function printFields(fields: [string, Cell][]): void {
  const width = Math.max(...fields.map(([key]) => key.length));
  for (const [key, value] of fields) {
    if (value === undefined || value === null || value === '') continue;
    process.stdout.write(`${key.padEnd(width)}  ${String(value)}\n`);
  }
}

// Wide (CJK) characters take two columns in a terminal.
function displayWidth(text: string): number {
  let width = 0;
  for (const char of text) {
    const code = char.codePointAt(0)!;
    width +=
      code >= 0x1100 &&
      (code <= 0x115f ||
        (code >= 0x2e80 && code <= 0xa4cf) ||
        (code >= 0xac00 && code <= 0xd7a3) ||
        (code >= 0xf900 && code <= 0xfaff) ||
        (code >= 0xff00 && code <= 0xff60) ||
        (code >= 0x20000 && code <= 0x3fffd))
        ? 2
        : 1;
  }
  return width;
}
