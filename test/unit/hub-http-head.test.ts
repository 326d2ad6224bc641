import { expect } from "chai";
import { parseResponseHead } from "../../src/daemon/hub/range/http-head.js";
import { RangeProtocolError } from "../../src/daemon/hub/range/range-types.js";

const head = (...lines: string[]) => lines.join("\r\n");

describe("hub range client: response head", () => {
  it("reads a ranged answer with a known length as reusable", () => {
    const h = parseResponseHead(head("HTTP/1.1 206 Partial Content", "Content-Length: 1048576", "Content-Range: bytes 0-1048575/4194304", "ETag:  \"abc\" "));
    expect(h.status).to.equal(206);
    expect(h.length).to.equal(1048576);
    expect(h.chunked).to.equal(false);
    expect(h.keepAlive).to.equal(true);
    expect(h.headers.get("content-range")).to.equal("bytes 0-1048575/4194304");
    expect(h.headers.get("etag")).to.equal('"abc"');
  });

  it("does not reuse a connection the server closes, or whose body ends with it", () => {
    expect(parseResponseHead(head("HTTP/1.1 200 OK", "Content-Length: 5", "Connection: close")).keepAlive).to.equal(false);
    const untilClose = parseResponseHead(head("HTTP/1.0 200 OK", "Content-Type: application/octet-stream"));
    expect(untilClose.length).to.equal(Infinity);
    expect(untilClose.keepAlive).to.equal(false);
  });

  it("marks a chunked body, whatever length it also announces", () => {
    const h = parseResponseHead(head("HTTP/1.1 200 OK", "Transfer-Encoding: gzip, Chunked", "Content-Length: 10"));
    expect(h.chunked).to.equal(true);
    expect(h.length).to.equal(Infinity);
    expect(h.keepAlive).to.equal(false);
  });

  it("keeps repeated headers and skips lines without a name", () => {
    const h = parseResponseHead(head("HTTP/1.1 302 Found", "Location: https://cdn.example/x", "Set-Cookie: a=1", "Set-Cookie: b=2", "no colon here", ": empty name", "Content-Length: 0"));
    expect(h.status).to.equal(302);
    expect(h.headers.get("location")).to.equal("https://cdn.example/x");
    expect(h.headers.getSetCookie()).to.deep.equal(["a=1", "b=2"]);
    expect([...h.headers.keys()]).to.not.include("");
    expect(h.length).to.equal(0);
  });

  it("refuses a header line with a name or value HTTP does not allow, as retryable", () => {
    for (const line of ["Bad Name: x", "X-Ok: a\u0000b", "Tab\tName: y"]) {
      expect(() => parseResponseHead(head("HTTP/1.1 200 OK", line)), line).to.throw(RangeProtocolError, "malformed header line").with.property("retryable", true);
    }
  });

  it("takes repeated Content-Length headers that agree, and refuses one that cannot end a body", () => {
    expect(parseResponseHead(head("HTTP/1.1 200 OK", "Content-Length: 42", "Content-Length: 42")).length).to.equal(42);
    expect(parseResponseHead(head("HTTP/1.1 200 OK", "Content-Length: 7, 7")).length).to.equal(7);
    for (const value of ["abc", "-1", "1.5", "", "5, 6", "0x10", "99999999999999999"]) {
      expect(() => parseResponseHead(head("HTTP/1.1 200 OK", `Content-Length: ${value}`)), value)
        .to.throw(RangeProtocolError, "invalid Content-Length").with.property("retryable", true);
    }
  });

  it("refuses a malformed status line as retryable", () => {
    for (const text of ["", "HTTP/2 200", "ICY 200 OK", "HTTP/1.1 20 OK", "<html>", "HTTP/1.1 000 Zero", "HTTP/1.1 600 Beyond", "HTTP/1.1 099 Low"]) {
      expect(() => parseResponseHead(text), text).to.throw(RangeProtocolError, "malformed status line").with.property("retryable", true);
    }
  });
});
