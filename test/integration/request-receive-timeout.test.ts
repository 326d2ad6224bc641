/**
 * MLXM_REQUEST_TIMEOUT bounds receiving a request too: a body trickled a byte at a time used to hold its connection
 * for Node's 5-minute default whatever the setting.
 */
import { expect } from "chai";
import net from "node:net";
import { startTestDaemon, type TestDaemon } from "../helpers/daemon.js";

describe("receiving a request, under MLXM_REQUEST_TIMEOUT", function () {
  this.timeout(30_000);
  let d: TestDaemon;
  before(async () => {
    d = await startTestDaemon({ MLXM_REQUEST_TIMEOUT: "2s" });
  });
  after(async () => d?.stop());

  it("answers 408 and closes a connection whose body trickles in past the timeout", async () => {
    const port = Number(new URL(d.baseUrl).port);
    const socket = net.connect(port, "127.0.0.1");
    await new Promise((r) => socket.once("connect", r));
    socket.write(`POST /v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{`);
    let answer = "";
    socket.on("data", (c) => (answer += c));
    const trickle = setInterval(() => socket.writable && socket.write(" "), 200);
    await new Promise((r) => socket.once("close", r));
    clearInterval(trickle);
    // Before, nothing came for Node's 5 minutes, far past this test's own timeout.
    expect(answer).to.match(/^HTTP\/1\.1 408/);
  });
});
