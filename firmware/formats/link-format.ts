// CoRE Link Format (RFC 6690, content-format 40) as LwM2M uses it:
// </>;rt="oma.lwm2m";ct=11543,</1>;ver=1.1,</1/0>;ssid=101,</3/0>

import { fail } from "../lib/bytes";

/** null: attribute without a value. */
export interface Link {
  uri: string;
  attrs: [string, string | number | null][];
}

const WS = " \t\r\n";
const NAME_END = "=;, \t\r\n";
const TOKEN_END = ";, \t\r\n";

function quote(v: string): string {
  let q = '"';
  for (let i = 0; i < v.length; i++) {
    const c = v.charAt(i);
    q += c === '"' || c === "\\" ? "\\" + c : c;
  }
  return q + '"';
}

/** Numbers are written bare, strings quoted, except ver (LwM2M writes ver=1.1 unquoted). */
export function encodeLinks(links: Link[]): string {
  let s = "";
  for (let i = 0; i < links.length; i++) {
    const l = links[i];
    s += (i ? ",<" : "<") + l.uri + ">";
    for (let k = 0; k < l.attrs.length; k++) {
      const name = l.attrs[k][0];
      const v = l.attrs[k][1];
      s += ";" + name;
      if (v !== null) s += "=" + (typeof v === "number" || name === "ver" ? v : quote(v));
    }
  }
  return s;
}

function skipWs(s: string, i: number): number {
  while (i < s.length && WS.indexOf(s.charAt(i)) >= 0) i++;
  return i;
}

// charAt past the end is "", which indexOf finds in any set: the end stops every scan.
function scan(s: string, i: number, stops: string): number {
  while (stops.indexOf(s.charAt(i)) < 0) i++;
  return i;
}

/**
 * Parses a link-format document. Quoted values stay strings; a bare value becomes a number
 * when it is one in canonical form (ssid=101, ver=1.1) and a string otherwise (ver=1.0).
 */
export function decodeLinks(text: string): Link[] {
  const links: Link[] = [];
  let i = skipWs(text, 0);
  if (i === text.length) return links;
  for (;;) {
    const close = text.indexOf(">", i);
    if (text.charAt(i) !== "<" || close < 0) fail("link: expected <uri>");
    const link: Link = { uri: text.substring(i + 1, close), attrs: [] };
    links.push(link);
    i = skipWs(text, close + 1);
    while (text.charAt(i) === ";") {
      i = skipWs(text, i + 1);
      let j = scan(text, i, NAME_END);
      const name = text.substring(i, j);
      if (!name) fail("link: empty attribute name");
      i = skipWs(text, j);
      let value: string | number | null = null;
      if (text.charAt(i) === "=") {
        i = skipWs(text, i + 1);
        if (text.charAt(i) === '"') {
          value = "";
          for (j = i + 1; text.charAt(j) !== '"'; j++) {
            if (text.charAt(j) === "\\") j++;
            if (j >= text.length) fail("link: unterminated quote");
            value += text.charAt(j);
          }
          j++;
        } else {
          j = scan(text, i, TOKEN_END);
          value = text.substring(i, j);
          const n = Number(value);
          if (!value) fail("link: empty attribute value");
          if (isFinite(n) && String(n) === value) value = n;
        }
        i = skipWs(text, j);
      }
      link.attrs.push([name, value]);
    }
    if (i === text.length) return links;
    if (text.charAt(i) !== ",") fail("link: expected , or ;");
    i = skipWs(text, i + 1);
  }
}
