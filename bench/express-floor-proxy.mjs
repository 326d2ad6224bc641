// The routing benchmark's bare proxy written in Express (`--floor-proxy bench/express-floor-proxy.mjs`): what Express
// and its JSON body parser add to a proxy on this machine, apart from anything mlxm does. `--born` gives the requests
// and responses Express's prototypes from birth with the daemon's own helper (built: `npm run build` first).
import http from "node:http";
import express from "express";
import { expressBornObjects } from "../dist/daemon/http/express-born-objects.js";

const upstream = new URL(process.argv[2]);
const agent = new http.Agent({ keepAlive: true });
const app = express();
app.use(express.json());
app.post("/v1/chat/completions", (req, res) => {
  const out = Buffer.from(JSON.stringify({ ...req.body, model: "bench-up" }));
  const up = http.request(
    { host: upstream.hostname, port: upstream.port, path: `${upstream.pathname}${req.url.slice(3)}`, method: "POST", agent, headers: { "content-type": "application/json", "content-length": out.length } },
    (r) => {
      res.writeHead(r.statusCode, { "content-type": r.headers["content-type"] });
      r.pipe(res);
    },
  );
  up.end(out);
});

http.createServer(process.argv.includes("--born") ? expressBornObjects(app) : {}, app).listen(0, "127.0.0.1", function () {
  console.log(this.address().port);
});
