/**
 * The pass-through's SSE reader (routing/forward-sse.ts) over a plain stream: a batch of events per read, multi-byte
 * characters split across reads, the body held back while a batch waits, and every way a body can end.
 */
import { expect } from "chai";
import { PassThrough } from "node:stream";
import { SseReader } from "../../src/daemon/routing/forward-sse.js";

const tick = () => new Promise((r) => setImmediate(r));

describe("SseReader", () => {
  it("hands over the events of each read as a batch, a character split across reads whole, then undefined at the end", async () => {
    const body = new PassThrough();
    const reader = new SseReader(body);
    body.write("data: one\n\ndata: two\n\n");
    expect((await reader.read())!.map((e) => e.data)).to.deep.equal(["one", "two"]);
    // "é" is two bytes; the read ends between them and the event only in the next one.
    const bytes = Buffer.from("data: café\n\n");
    body.write(bytes.subarray(0, 9));
    const pending = reader.read();
    body.write(bytes.subarray(9));
    expect((await pending)!.map((e) => e.data)).to.deep.equal(["café"]);
    body.end();
    expect(await reader.read()).to.equal(undefined);
    expect(await reader.read()).to.equal(undefined);
  });

  it("holds the body back while a batch waits for its reader, and lets it flow again once read", async () => {
    const body = new PassThrough();
    const reader = new SseReader(body);
    body.write("data: a\n\n");
    await tick();
    expect(body.isPaused(), "an unread batch pauses the body").to.equal(true);
    body.write("data: b\n\n");
    expect((await reader.read())!.map((e) => e.data)).to.deep.equal(["a"]);
    expect((await reader.read())!.map((e) => e.data)).to.deep.equal(["b"]);
    body.end();
    expect(await reader.read()).to.equal(undefined);
  });

  it("fails a read when the body fails or closes before its end, and close() destroys an unfinished body", async () => {
    const failing = new PassThrough();
    const failed = new SseReader(failing).read();
    failing.destroy(new Error("socket hang up"));
    expect(await failed.then(() => "read", (err: Error) => err.message)).to.equal("socket hang up");

    const cut = new PassThrough();
    const cutReader = new SseReader(cut);
    cut.write("data: partial\n\n");
    expect((await cutReader.read())!.map((e) => e.data)).to.deep.equal(["partial"]);
    const next = cutReader.read();
    cut.destroy();
    expect(await next.then(() => "read", (err: Error) => err.message)).to.equal("Premature close");

    const open = new PassThrough();
    new SseReader(open).close();
    expect(open.destroyed).to.equal(true);
  });
});
