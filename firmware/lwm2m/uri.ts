// coap:// and coaps:// server URIs: host (name, IPv4 or [IPv6]) and optional port.

export interface ServerUri {
  secure: boolean;
  host: string;
  port: number;
}

/** 1..253 characters of letters, digits, '-', '.' and ':' (IPv6). */
function hostOk(h: string): boolean {
  for (let i = 0; i < h.length; i++) {
    const c = h.charCodeAt(i);
    const lower = c | 32;
    if (c < 45 || !((lower >= 97 && lower <= 122) || (c <= 58 && c !== 47))) return false;
  }
  return h.length > 0 && h.length <= 253;
}

/** Parses a server URI; null when it is not a well-formed coap:// or coaps:// URI. */
export function parseUri(s: string): ServerUri | null {
  const secure = s.substring(0, 8) === "coaps://";
  if (!secure && s.substring(0, 7) !== "coap://") return null;
  let rest = s.substring(secure ? 8 : 7);
  if (rest.charAt(rest.length - 1) === "/") rest = rest.substring(0, rest.length - 1);
  const v6 = rest.charAt(0) === "[";
  const close = rest.indexOf("]");
  const colon = rest.indexOf(":");
  // Where the host ends: after "]" for IPv6, else at the first ':' or the end.
  const sep = v6 ? close + 1 : colon < 0 ? rest.length : colon;
  const host = rest.substring(v6 ? 1 : 0, v6 ? close : sep);
  const port = rest.substring(sep + 1);
  if ((v6 && close < 0) || !hostOk(host) || (sep < rest.length && rest.charAt(sep) !== ":")) return null;
  let p = secure ? 5684 : 5683;
  if (sep < rest.length) {
    p = 0;
    for (let i = 0; i < port.length; i++) {
      const d = port.charCodeAt(i) - 48;
      if (d < 0 || d > 9) return null;
      p = p * 10 + d;
    }
    if (port.length > 5 || p < 1 || p > 65535) return null;
  }
  return { secure: secure, host: host, port: p };
}
