/**
 * Which browser origins may call the daemon and which Host names it answers to. Defaults follow Ollama's
 * `OLLAMA_ORIGINS`: pages served from this machine (localhost, 127.0.0.1, [::1], any port) and app shells
 * (app://, file://, tauri://, vscode-webview://); `MLXM_ORIGINS` adds glob patterns (`https://*.example.com`).
 */
import os from "node:os";
import picomatch from "picomatch";
import { isLoopbackHost } from "./loopback.js";

const DEFAULT_ORIGINS = [
  "http://localhost", "https://localhost", "http://localhost:*", "https://localhost:*",
  "http://127.0.0.1", "https://127.0.0.1", "http://127.0.0.1:*", "https://127.0.0.1:*",
  "http://[::1]", "https://[::1]", "http://[::1]:*", "https://[::1]:*",
  "app://*", "file://*", "tauri://*", "vscode-webview://*", "vscode-file://*",
];

/** A predicate over `Origin` header values. */
export function originMatcher(extra: readonly string[]): (origin: string) => boolean {
  // Origins hold dots and slashes that are not path separators here: match each pattern as plain text with `*`.
  const isMatch = picomatch([...DEFAULT_ORIGINS, ...extra], { dot: true, nocase: true, contains: false, bash: true });
  return (origin) => origin !== "null" && isMatch(origin);
}

/**
 * A predicate over `Host` header values, against DNS rebinding: a page on evil.example whose name resolves to
 * 127.0.0.1 still sends `Host: evil.example`. When the daemon listens beyond loopback any name may reach it
 * (keys are required there), so every Host is accepted.
 */
export function hostMatcher(boundHost: string): (host: string | undefined) => boolean {
  if (!isLoopbackHost(boundHost)) return () => true;
  const hostname = os.hostname().toLowerCase();
  const names = new Set([boundHost.toLowerCase(), hostname, `${hostname}.local`]);
  return (host) => {
    // HTTP/1.0 clients may omit Host; browsers never do.
    if (host === undefined || host === "") return true;
    const name = stripPort(host.toLowerCase());
    return isLoopbackHost(name) || names.has(name);
  };
}

function stripPort(host: string): string {
  if (host.startsWith("[")) return host.slice(0, host.indexOf("]") + 1);
  const colon = host.lastIndexOf(":");
  return colon > 0 && host.indexOf(":") === colon ? host.slice(0, colon) : host;
}
