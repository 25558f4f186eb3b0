// RFC 4180 CSV: comma-separated, fields in double quotes may hold commas, quotes ("") and
// line breaks; CRLF or LF; the first record is the header. Blank lines are skipped.
// Unquoted fields are trimmed. Each record carries the line number it starts on.

export interface CsvRecord {
  line: number;
  fields: string[];
}

export function parseCsv(text: string): CsvRecord[] {
  const out: CsvRecord[] = [];
  let i = 0;
  let line = 1;
  if (text.charCodeAt(0) === 0xfeff) i = 1; // BOM
  while (i < text.length) {
    const start = line;
    const fields: string[] = [];
    let blank = true;
    for (;;) {
      // one field
      let f = "";
      if (text[i] === '"') {
        blank = false;
        i++;
        for (;;) {
          if (i >= text.length) throw new Error(`line ${start}: unterminated quoted field`);
          const c = text[i];
          if (c === '"') {
            if (text[i + 1] === '"') {
              f += '"';
              i += 2;
              continue;
            }
            i++;
            break;
          }
          if (c === "\n") line++;
          f += c;
          i++;
        }
        while (text[i] === " " || text[i] === "\t") i++;
        if (i < text.length && text[i] !== "," && text[i] !== "\n" && text[i] !== "\r") throw new Error(`line ${line}: text after a closing quote`);
      } else {
        while (i < text.length && text[i] !== "," && text[i] !== "\n" && text[i] !== "\r") {
          if (text[i] === '"') throw new Error(`line ${line}: quote inside an unquoted field`);
          f += text[i++];
        }
        f = f.trim();
        if (f) blank = false;
      }
      fields.push(f);
      if (text[i] === ",") {
        blank = false;
        i++;
        continue;
      }
      if (text[i] === "\r") i++;
      if (text[i] === "\n") i++;
      line++;
      break;
    }
    if (!blank) out.push({ line: start, fields });
  }
  return out;
}

/** Header + rows as objects keyed by column name; checks the columns against `known`. */
export function csvObjects(text: string, known: string[], required: string[]): { line: number; row: Record<string, string>; error?: string }[] {
  const recs = parseCsv(text);
  if (recs.length === 0) throw new Error("line 1: empty file (want a header row)");
  const header = recs[0].fields.map((h) => h.trim().toLowerCase());
  const seen = new Set<string>();
  for (const h of header) {
    if (!known.includes(h)) throw new Error(`line ${recs[0].line}: unknown column "${h}" (known: ${known.join(", ")})`);
    if (seen.has(h)) throw new Error(`line ${recs[0].line}: column "${h}" twice`);
    seen.add(h);
  }
  for (const r of required) if (!seen.has(r)) throw new Error(`line ${recs[0].line}: missing column "${r}"`);
  return recs.slice(1).map((r) => {
    if (r.fields.length !== header.length) return { line: r.line, row: {}, error: `${r.fields.length} fields, the header has ${header.length}` };
    const row: Record<string, string> = {};
    header.forEach((h, k) => {
      if (r.fields[k] !== "") row[h] = r.fields[k];
    });
    return { line: r.line, row };
  });
}
