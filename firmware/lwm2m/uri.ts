// coap:// and coaps:// server URIs: host (name, IPv4 or [IPv6]) and optional port.

export interface ServerUri {
  secure: boolean;
  host: string;
  port: number;
}

function hostOk(h: string): boolean {
  if (h.length === 0 || h.length > 253) return false;
  for (let i = 0; i < h.length; i++) {
    const c = h.charCodeAt(i);
    const ok = (c >= 48 && c <= 57) || (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || c === 45 || c === 46 || c === 58;
    if (!ok) return false;
  }
  return true;
}

/** Parses a server URI; null when it is not a well-formed coap:// or coaps:// URI. */
export function parseUri(s: string): ServerUri | null {
  let secure = false;
  let rest: string;
  if (s.substring(0, 7) === "coap://") rest = s.substring(7);
  else if (s.substring(0, 8) === "coaps://") {
    secure = true;
    rest = s.substring(8);
  } else return null;
  if (rest.charAt(rest.length - 1) === "/") rest = rest.substring(0, rest.length - 1);
  if (rest.indexOf("/") >= 0 || rest.indexOf("?") >= 0) return null;
  let host: string;
  let port = "";
  if (rest.charAt(0) === "[") {
    const end = rest.indexOf("]");
    if (end < 0) return null;
    host = rest.substring(1, end);
    const tail = rest.substring(end + 1);
    if (tail.length > 0) {
      if (tail.charAt(0) !== ":") return null;
      port = tail.substring(1);
    }
  } else {
    const colon = rest.indexOf(":");
    host = colon < 0 ? rest : rest.substring(0, colon);
    if (colon >= 0) port = rest.substring(colon + 1);
    if (host.indexOf(":") >= 0) return null;
  }
  if (!hostOk(host)) return null;
  let p = secure ? 5684 : 5683;
  if (port.length > 0 || rest.charAt(rest.length - 1) === ":") {
    p = 0;
    if (port.length === 0 || port.length > 5) return null;
    for (let i = 0; i < port.length; i++) {
      const d = port.charCodeAt(i) - 48;
      if (d < 0 || d > 9) return null;
      p = p * 10 + d;
    }
    if (p < 1 || p > 65535) return null;
  }
  return { secure: secure, host: host, port: p };
}
