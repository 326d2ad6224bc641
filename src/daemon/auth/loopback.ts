/** Whether an address is reachable only from this machine. */
import net from "node:net";

/** True for `localhost`, 127.0.0.0/8, ::1 and IPv4-mapped loopback; false for 0.0.0.0, :: and anything else. */
export function isLoopbackHost(host: string): boolean {
  const h = host.replace(/^\[|\]$/g, "").toLowerCase();
  if (h === "localhost" || h.endsWith(".localhost")) return true;
  if (net.isIPv4(h)) return h.startsWith("127.");
  if (net.isIPv6(h)) return h === "::1" || /^::ffff:127\./.test(h);
  return false;
}
