import { expect } from "chai";
import net from "node:net";
import tls from "node:tls";
import type { AddressInfo } from "node:net";
import { rangeGet, RangeProtocolError, type RangeReceiver } from "../../src/daemon/hub/range/range-client.js";
import { release, takeIdle } from "../../src/daemon/hub/range/range-connection-pool.js";
import { testBytes } from "../helpers/fake-hub.js";

// A throwaway self-signed certificate for 127.0.0.1 / localhost (EC P-256, valid until 2126): test use only.
const KEY = `-----BEGIN PRIVATE KEY-----
MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgSCFPBio4kl+fKwFf
P7eRBtDshPHKEtm/FFtbMCGD5yehRANCAASsanH8k7Ega4kNsHxfnbHhg14t8Fsg
tfXw6uAjmrLdQRt2G/g3SNvEumigjkuwsAEO4tjBCT3YT5pVDEVLiwLT
-----END PRIVATE KEY-----`;
const CERT = `-----BEGIN CERTIFICATE-----
MIIBmzCCAUGgAwIBAgIUHBgtS9UBmaTSP6Z9WsKXj5PrlU8wCgYIKoZIzj0EAwIw
FDESMBAGA1UEAwwJbG9jYWxob3N0MCAXDTI2MTEyNzAzMzQyNloYDzIxMjYxMTAz
MDMzNDI2WjAUMRIwEAYDVQQDDAlsb2NhbGhvc3QwWTATBgcqhkjOPQIBBggqhkjO
PQMBBwNCAASsanH8k7Ega4kNsHxfnbHhg14t8FsgtfXw6uAjmrLdQRt2G/g3SNvE
umigjkuwsAEO4tjBCT3YT5pVDEVLiwLTo28wbTAdBgNVHQ4EFgQUr2Qu6SrL9i+z
Qecv/8UcLiR4LCEwHwYDVR0jBBgwFoAUr2Qu6SrL9i+zQecv/8UcLiR4LCEwDwYD
VR0TAQH/BAUwAwEB/zAaBgNVHREEEzARgglsb2NhbGhvc3SHBH8AAAEwCgYIKoZI
zj0EAwIDSAAwRQIgLoD/nKqYmH3yrkhgeg6B2VnZVuWbJMVroNGK++781moCIQCf
o5+AJy1AzjFKxJ7F/dm4iv0HZQaS892mw1J5tmFq5w==
-----END CERTIFICATE-----`;

interface Seen {
  head: string;
  socket: net.Socket;
}

/** A raw TCP (or TLS) server whose answer to each request head is scripted by the test. */
async function scriptedServer(
  answer: (seen: Seen, index: number) => void,
  secure = false,
): Promise<{ url: string; heads: string[]; connections: () => number; close: () => Promise<void> }> {
  const heads: string[] = [];
  let connections = 0;
  const sockets = new Set<net.Socket>();
  const onSocket = (socket: net.Socket) => {
    connections++;
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
    socket.on("error", () => undefined);
    let buffered = "";
    socket.on("data", (d) => {
      buffered += d.toString("latin1");
      let i: number;
      while ((i = buffered.indexOf("\r\n\r\n")) >= 0) {
        const head = buffered.slice(0, i);
        buffered = buffered.slice(i + 4);
        heads.push(head);
        answer({ head, socket }, heads.length - 1);
      }
    });
  };
  const server = secure ? tls.createServer({ key: KEY, cert: CERT }, onSocket) : net.createServer(onSocket);
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `${secure ? "https" : "http"}://127.0.0.1:${port}`,
    heads,
    connections: () => connections,
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}

function collector(options: { wanted?: number; writeDelayMs?: number } = {}) {
  const chunks: Buffer[] = [];
  let received = 0;
  let status = 0;
  const receiver: RangeReceiver = {
    onResponse: (head) => {
      status = head.status;
    },
    wanted: () => (options.wanted ?? Infinity) - received,
    onBytes: (n) => {
      received += n;
    },
    write: async (buffer, length) => {
      chunks.push(Buffer.from(buffer.subarray(0, length)));
      if (options.writeDelayMs) await new Promise((r) => setTimeout(r, options.writeDelayMs));
    },
  };
  return { receiver, body: () => Buffer.concat(chunks), status: () => status };
}

async function rejection(p: Promise<unknown>): Promise<unknown> {
  try {
    await p;
  } catch (err) {
    return err;
  }
  throw new Error("expected a rejection");
}

describe("hub range client (scripted server)", () => {
  const body = testBytes(3 * 1024 * 1024 + 17, 5);

  it("tells the receiver when reading waits on its writes, and ends every wait it told", async () => {
    const server = await scriptedServer(({ socket }) => {
      socket.write(`HTTP/1.1 206 Partial Content\r\nContent-Length: ${body.length}\r\nContent-Range: bytes 0-${body.length - 1}/${body.length}\r\n\r\n`);
      socket.write(body);
    });
    try {
      const fetchWith = async (writeDelayMs: number) => {
        const c = collector({ writeDelayMs });
        const waits: boolean[] = [];
        await rangeGet(`${server.url}/f`, { ...c.receiver, onWaitingForWrites: (paused) => waits.push(paused) }, { batchBytes: 64 * 1024 });
        expect(c.body().equals(body)).to.equal(true);
        return waits;
      };
      // 3 MiB in 64 KiB batches, each write taking 3 ms: the ring of 2 is full most of the time.
      const slow = await fetchWith(3);
      expect(slow.length).to.be.greaterThan(10);
      slow.forEach((paused, i) => expect(paused).to.equal(i % 2 === 0));
      expect(slow.at(-1)).to.equal(false);
      // Writes that resolve at once may still leave the ring full for a moment: whatever waits are told are ended.
      const fast = await fetchWith(0);
      fast.forEach((paused, i) => expect(paused).to.equal(i % 2 === 0));
      expect(fast.length % 2).to.equal(0);
    } finally {
      await server.close();
    }
  });

  it("reads a Content-Length body through slow writes and reuses the kept-alive connection", async () => {
    const server = await scriptedServer(({ socket }) => {
      socket.write(`HTTP/1.1 206 Partial Content\r\nContent-Length: ${body.length}\r\nContent-Range: bytes 0-${body.length - 1}/${body.length}\r\n\r\n`);
      socket.write(body);
    });
    try {
      for (let i = 0; i < 2; i++) {
        const c = collector({ writeDelayMs: 3 });
        await rangeGet(`${server.url}/f`, c.receiver, { batchBytes: 64 * 1024, headers: { range: "bytes=0-" } });
        expect(c.status()).to.equal(206);
        expect(c.body().equals(body)).to.equal(true);
      }
      expect(server.connections()).to.equal(1);
      expect(server.heads[0]).to.match(/^GET \/f HTTP\/1\.1\r\nHost: 127\.0\.0\.1:\d+\r\nrange: bytes=0-\r\nConnection: keep-alive$/);
    } finally {
      await server.close();
    }
  });

  it("keeps several writes in flight from a ring of batches, issued in body order, whatever order they finish in", async () => {
    const server = await scriptedServer(({ socket }) => {
      socket.write(`HTTP/1.1 206 Partial Content\r\nContent-Length: ${body.length}\r\n\r\n`);
      socket.write(body);
    });
    const copies: { offset: number; bytes: Buffer }[] = [];
    let offset = 0;
    let inFlight = 0;
    let mostInFlight = 0;
    let writes = 0;
    const receiver: RangeReceiver = {
      onResponse: () => undefined,
      wanted: () => Infinity,
      write: async (buffer, length) => {
        copies.push({ offset, bytes: Buffer.from(buffer.subarray(0, length)) });
        offset += length;
        inFlight++;
        mostInFlight = Math.max(mostInFlight, inFlight);
        // Later writes finish first now and then (every third waits longest), as two writes on the thread pool may.
        await new Promise((r) => setTimeout(r, writes++ % 3 === 0 ? 12 : 2));
        inFlight--;
      },
    };
    try {
      await rangeGet(`${server.url}/f`, receiver, { batchBytes: 64 * 1024, batchCount: 4 });
      // One batch fills while the other three are being written.
      expect(mostInFlight).to.equal(3);
      const joined = Buffer.alloc(body.length);
      for (const c of copies) c.bytes.copy(joined, c.offset);
      expect(offset).to.equal(body.length);
      expect(joined.equals(body)).to.equal(true);
    } finally {
      await server.close();
    }
  });

  it("takes its batches from a pool and gives back only those the receiver did not keep, also when the last one is kept", async () => {
    const server = await scriptedServer(({ socket }) => {
      socket.write(`HTTP/1.1 206 Partial Content\r\nContent-Length: ${body.length}\r\n\r\n`);
      socket.write(body);
    });
    const size = 64 * 1024;
    const acquired = new Set<Buffer>();
    const released: Buffer[] = [];
    const pool = {
      acquire: (n: number) => {
        const b = Buffer.from(new SharedArrayBuffer(n));
        acquired.add(b);
        return b;
      },
      release: (b: Buffer) => released.push(b),
    };
    const kept = new Set<Buffer>();
    const chunks: Buffer[] = [];
    let received = 0;
    // Keeps every third batch and the last one (it ends the body), handing over a replacement from the pool.
    let writes = 0;
    const receiver: RangeReceiver = {
      onResponse: () => undefined,
      wanted: () => Infinity,
      onBytes: (n) => {
        received += n;
      },
      write: async (buffer, length) => {
        chunks.push(Buffer.from(buffer.subarray(0, length)));
        await new Promise((r) => setTimeout(r, 1));
        if (++writes % 3 !== 0 && received < body.length) return undefined;
        kept.add(buffer);
        return pool.acquire(buffer.length);
      },
    };
    try {
      await rangeGet(`${server.url}/f`, receiver, { batchBytes: size, batches: pool });
      expect(Buffer.concat(chunks).equals(body)).to.equal(true);
      expect(kept.size).to.be.at.least(2);
      expect(released).to.have.length(2);
      for (const b of released) {
        expect(acquired.has(b)).to.equal(true);
        expect(kept.has(b), "a kept batch went back to the pool").to.equal(false);
      }
    } finally {
      await server.close();
    }
  });

  it("keeps one idle-timeout listener on a connection however often it is reused", async () => {
    const server = await scriptedServer(({ socket }) => socket.write(`HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello`));
    const sockets = new Set<net.Socket>();
    const counts: number[] = [];
    try {
      // More requests than EventEmitter's default limit of 10 listeners: a listener per reuse would warn.
      for (let i = 0; i < 12; i++) {
        const c = collector();
        await rangeGet(`${server.url}/f`, c.receiver);
        expect(c.body().toString()).to.equal("hello");
        const conn = takeIdle(new URL(server.url));
        expect(conn, "the connection went back to the pool").to.exist;
        sockets.add(conn!.socket);
        counts.push(conn!.socket.listenerCount("timeout"));
        release(conn!);
      }
      expect(server.connections()).to.equal(1);
      expect(sockets.size).to.equal(1);
      expect(new Set(counts)).to.deep.equal(new Set([1]));
    } finally {
      await server.close();
    }
  });

  it("retries on a new connection when a pooled one was closed by the server", async () => {
    const used = new Set<net.Socket>();
    const server = await scriptedServer(({ socket }) => {
      // The second request on a kept-alive connection meets a server that just timed it out: no answer, a close.
      if (used.has(socket)) return void socket.destroy();
      used.add(socket);
      socket.write(`HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello`);
    });
    try {
      const a = collector();
      await rangeGet(`${server.url}/a`, a.receiver);
      const b = collector();
      await rangeGet(`${server.url}/b`, b.receiver);
      expect(b.body().toString()).to.equal("hello");
      expect(server.heads).to.have.length(3);
      expect(server.connections()).to.equal(2);
    } finally {
      await server.close();
    }
  });

  it("follows redirects, dropping Authorization when the origin changes", async () => {
    const target = await scriptedServer(({ socket }) => socket.write(`HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok`));
    const hub = await scriptedServer(({ socket, head }) => {
      if (head.startsWith("GET /same")) socket.write(`HTTP/1.1 307 Temporary Redirect\r\nLocation: /other\r\nContent-Length: 0\r\n\r\n`);
      else if (head.startsWith("GET /other")) socket.write(`HTTP/1.1 302 Found\r\nLocation: ${target.url}/x?sig=1\r\nContent-Length: 7\r\n\r\nbyebye!`);
    });
    try {
      const c = collector();
      await rangeGet(`${hub.url}/same`, c.receiver, { headers: { authorization: "Bearer secret" } });
      expect(c.body().toString()).to.equal("ok");
      expect(hub.heads).to.have.length(2);
      expect(hub.heads.every((h) => h.includes("authorization: Bearer secret"))).to.equal(true);
      expect(target.heads[0]).to.match(/^GET \/x\?sig=1 /);
      expect(target.heads[0]).to.not.match(/authorization/i);
    } finally {
      await hub.close();
      await target.close();
    }
  });

  it("rejects with what a receiver throws while the body is read, and the process goes on", async () => {
    const server = await scriptedServer(({ socket }) => {
      socket.write(`HTTP/1.1 206 Partial Content\r\nContent-Length: ${body.length}\r\n\r\n`);
      socket.write(body);
    });
    try {
      const c = collector();
      const receiver: RangeReceiver = { ...c.receiver, onBytes: () => { throw new Error("receiver broke"); } };
      const err = await rejection(rangeGet(`${server.url}/f`, receiver, { batchBytes: 64 * 1024 }));
      expect((err as Error).message).to.equal("receiver broke");
    } finally {
      await server.close();
    }
  });

  it("refuses a redirect to a location that is not a URL, or to another scheme", async () => {
    const hub = await scriptedServer(({ socket, head }) => {
      const location = head.startsWith("GET /bad") ? "http://[::1" : "ftp://127.0.0.1/x";
      socket.write(`HTTP/1.1 302 Found\r\nLocation: ${location}\r\nContent-Length: 0\r\n\r\n`);
    });
    try {
      for (const [path, message] of [["/bad", /invalid redirect location/], ["/ftp", /unsupported protocol ftp:/]] as const) {
        const err = await rejection(rangeGet(`${hub.url}${path}`, collector().receiver));
        expect(err, path).to.be.instanceOf(RangeProtocolError);
        expect((err as Error).message).to.match(message);
        expect((err as RangeProtocolError).retryable).to.equal(false);
      }
    } finally {
      await hub.close();
    }
  });

  it("skips 1xx interim responses and reads close-delimited bodies", async () => {
    const server = await scriptedServer(({ socket }) => {
      socket.write(`HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nConnection: close\r\n\r\n`);
      socket.end(body);
    });
    try {
      const c = collector();
      await rangeGet(`${server.url}/f`, c.receiver);
      expect(c.status()).to.equal(200);
      expect(c.body().equals(body)).to.equal(true);
    } finally {
      await server.close();
    }
  });

  it("stops early when no more bytes are wanted, and refuses chunked bodies", async () => {
    const server = await scriptedServer(({ socket, head }) => {
      if (head.startsWith("GET /chunked")) socket.write(`HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n`);
      else {
        socket.write(`HTTP/1.1 200 OK\r\nContent-Length: ${body.length}\r\n\r\n`);
        socket.write(body);
      }
    });
    try {
      const c = collector({ wanted: 100_000 });
      await rangeGet(`${server.url}/f`, c.receiver, { batchBytes: 64 * 1024 });
      expect(c.body().equals(body.subarray(0, 100_000))).to.equal(true);
      const err = await rejection(rangeGet(`${server.url}/chunked`, collector().receiver));
      expect(err).to.be.instanceOf(RangeProtocolError);
      expect((err as RangeProtocolError).retryable).to.equal(false);
    } finally {
      await server.close();
    }
  });

  it("refuses a response head with a malformed header line as a retryable protocol error", async () => {
    const server = await scriptedServer(({ socket }) => {
      socket.write(`HTTP/1.1 206 Partial Content\r\nBad Name: x\r\nContent-Length: 3\r\n\r\nabc`);
    });
    try {
      const err = await rejection(rangeGet(`${server.url}/f`, collector().receiver));
      expect(err).to.be.instanceOf(RangeProtocolError);
      expect((err as RangeProtocolError).retryable).to.equal(true);
      expect((err as Error).message).to.match(/malformed header line/);
    } finally {
      await server.close();
    }
  });

  it("writes the bytes received before the connection broke, then rejects as retryable", async () => {
    const server = await scriptedServer(({ socket }) => {
      socket.write(`HTTP/1.1 206 Partial Content\r\nContent-Length: ${body.length}\r\n\r\n`);
      socket.write(body.subarray(0, 300_000), () => setTimeout(() => socket.destroy(), 20));
    });
    try {
      const c = collector();
      const err = await rejection(rangeGet(`${server.url}/f`, c.receiver, { batchBytes: 64 * 1024 }));
      expect(err).to.be.instanceOf(RangeProtocolError);
      expect((err as RangeProtocolError).retryable).to.equal(true);
      expect(c.body().equals(body.subarray(0, 300_000))).to.equal(true);
    } finally {
      await server.close();
    }
  });

  it("aborts with the signal's reason", async () => {
    const server = await scriptedServer(({ socket }) => {
      socket.write(`HTTP/1.1 206 Partial Content\r\nContent-Length: ${body.length}\r\n\r\n`);
      socket.write(body.subarray(0, 1000)); // then nothing: a stall
    });
    try {
      const ac = new AbortController();
      setTimeout(() => ac.abort(new Error("stalled")), 100);
      const c = collector();
      const err = await rejection(rangeGet(`${server.url}/f`, c.receiver, { signal: ac.signal }));
      expect((err as Error).message).to.equal("stalled");
      expect(c.body().equals(body.subarray(0, 1000))).to.equal(true);
    } finally {
      await server.close();
    }
  });

  it("speaks TLS (with SNI and a private CA)", async () => {
    const server = await scriptedServer(({ socket }) => {
      socket.write(`HTTP/1.1 200 OK\r\nContent-Length: ${body.length}\r\n\r\n`);
      socket.write(body);
    }, true);
    try {
      const c = collector();
      await rangeGet(`${server.url.replace("127.0.0.1", "localhost")}/f`, c.receiver, { ca: CERT });
      expect(c.body().equals(body)).to.equal(true);
      // Without the CA the certificate is rejected.
      const err = await rejection(rangeGet(`${server.url}/f`, collector().receiver));
      expect((err as Error).message).to.match(/self[- ]signed|certificate/i);
    } finally {
      await server.close();
    }
  });
});
