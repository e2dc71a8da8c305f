// Rows as an aligned plain-text table, for the admin command line (and anything else that prints).

/** Columns padded to their widest cell; a column whose header starts with `>` is right-aligned. */
export function textTable(headers: string[], rows: (string | number)[][]): string {
  const right = headers.map((header) => header.startsWith('>'));
  const titles = headers.map((header) => header.replace(/^>/, ''));
  const cells = rows.map((row) => row.map((cell) => String(cell).replace(/[\r\n\t]+/g, ' ')));
  const widths = titles.map((title, column) => Math.max([...title].length, ...cells.map((row) => [...(row[column] ?? '')].length)));
  const line = (row: string[]) =>
    row
      .map((cell, column) => {
        const pad = ' '.repeat(widths[column]! - [...cell].length);
        return right[column] ? pad + cell : cell + pad;
      })
      .join('  ')
      .trimEnd();
  return [line(titles), line(widths.map((width) => '-'.repeat(width))), ...cells.map(line)].join('\n');
}
