export interface Column {
  readonly header: string;
  readonly align: 'left' | 'right';
}

/** A blank line between groups of rows. */
export const SEPARATOR = 'separator';
export type Row = readonly string[] | typeof SEPARATOR;

/** A plain-text table for a terminal: padded columns, a rule under the header. */
export function renderTable(columns: readonly Column[], rows: readonly Row[]): string {
  const widths = columns.map((column, i) =>
    Math.max(column.header.length, ...rows.map((row) => (row === SEPARATOR ? 0 : (row[i] ?? '').length))),
  );
  const line = (cells: readonly string[]): string =>
    columns
      .map((column, i) => {
        const cell = cells[i] ?? '';
        const width = widths[i] ?? 0;
        return column.align === 'right' ? cell.padStart(width) : cell.padEnd(width);
      })
      .join('  ')
      .trimEnd();
  return [
    line(columns.map((column) => column.header)),
    widths.map((width) => '-'.repeat(width)).join('  '),
    ...rows.map((row) => (row === SEPARATOR ? '' : line(row))),
  ].join('\n');
}
