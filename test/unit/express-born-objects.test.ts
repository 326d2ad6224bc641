/** `expressBornObjects`: requests and responses are Express's from birth, and Express still serves them as before. */
import { expect } from "chai";
import http from "node:http";
import type { AddressInfo } from "node:net";
import express from "express";
import { expressBornObjects } from "../../src/daemon/http/express-born-objects.js";

describe("expressBornObjects", () => {
  it("gives node:http's request and response Express's prototypes before Express sees them, and Express serves them", async () => {
    const app = express();
    app.use(express.json());
    app.post("/echo/:id", (req, res) => {
      res.locals.seen = true;
      res.status(201).set("x-id", req.params.id).json({ body: req.body, query: req.query, ip: req.ip, header: req.get("x-test") });
    });
    const server = http.createServer(expressBornObjects(app), app);
    let born: boolean[] = [];
    // Runs before Express's listener: what node:http made, before Express swaps any prototype.
    server.prependListener("request", (req: http.IncomingMessage, res: http.ServerResponse) => {
      born = [Object.getPrototypeOf(req) === app.request, Object.getPrototypeOf(res) === app.response];
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    try {
      const { port } = server.address() as AddressInfo;
      const res = await fetch(`http://127.0.0.1:${port}/echo/7?q=1`, { method: "POST", headers: { "content-type": "application/json", "x-test": "t" }, body: '{"a":[1,2]}' });
      expect(born).to.deep.equal([true, true]);
      expect(res.status).to.equal(201);
      expect(res.headers.get("x-id")).to.equal("7");
      expect(await res.json()).to.deep.equal({ body: { a: [1, 2] }, query: { q: "1" }, ip: "127.0.0.1", header: "t" });
    } finally {
      server.close();
    }
  });
  it("leaves Express as usual on a Node whose request is a class, which cannot be called on an object made here", () => {
    const original = http.IncomingMessage;
    (http as { IncomingMessage: unknown }).IncomingMessage = class extends original {};
    try {
      expect(expressBornObjects(express())).to.deep.equal({});
    } finally {
      (http as { IncomingMessage: unknown }).IncomingMessage = original;
    }
    expect(expressBornObjects(express())).to.have.keys("IncomingMessage", "ServerResponse");
  });
});
