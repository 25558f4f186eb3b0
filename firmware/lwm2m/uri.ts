// coap:// and coaps:// server URIs: host (name, IPv4 or [IPv6]) and optional port.
import { digitsAt } from "../formats/model";

export interface ServerUri {
  secure: boolean;
  host: string;
  port: number;
}

/** Parses a server URI; null when it is not a well-formed coap:// or coaps:// URI. */
export function parseUri(s: string): ServerUri | null {
  const secure = s.charAt(4) === "s";
  if (s.indexOf(secure ? "coaps://" : "coap://")) return null;
  let rest = s.substring(secure ? 8 : 7);
  if (rest.charAt(rest.length - 1) === "/") rest = rest.slice(0, -1);
  const v6 = rest.charAt(0) === "[";
  const colon = rest.indexOf(":");
  // Where the host ends: after "]" for IPv6 (without one, the host is "[" and refused), else
  // at the first ':' or the end.
  const sep = v6 ? rest.indexOf("]") + 1 : colon < 0 ? rest.length : colon;
  const host = rest.substring(v6 ? 1 : 0, v6 ? sep - 1 : sep);
  const port = rest.substring(sep + 1);
  // the host: 1..253 characters of letters, digits, '-', '.' and ':' (IPv6)
  for (let i = 0; i < host.length; i++) {
    const c = host.charCodeAt(i);
    const lower = c | 32;
    if (c < 45 || !((lower >= 97 && lower <= 122) || (c <= 58 && c !== 47))) return null;
  }
  const p = sep < rest.length ? +port : secure ? 5684 : 5683;
  // a port: 1..5 digits, 1..65535
  if (!host || host.length > 253 || (sep < rest.length && (rest.charAt(sep) !== ":" || digitsAt(port, 0, "") !== port.length || port.length > 5 || p < 1 || p > 65535))) return null;
  return { secure: secure, host: host, port: p };
}
