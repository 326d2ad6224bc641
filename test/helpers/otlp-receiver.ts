/** A minimal OTLP/HTTP (JSON) trace receiver: what a collector would get from the daemon's exporter. */
import { startFakeServer, type FakeServer } from "./http-server.js";

export interface ReceivedSpan {
  service: string;
  traceId: string;
  spanId: string;
  name: string;
  attributes: Record<string, unknown>;
}

interface OtlpKeyValue {
  key: string;
  value: Record<string, unknown>;
}

function attrs(list: OtlpKeyValue[] | undefined): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const kv of list ?? []) out[kv.key] = Object.values(kv.value)[0];
  return out;
}

export async function startOtlpReceiver(): Promise<FakeServer & { spans: ReceivedSpan[] }> {
  const spans: ReceivedSpan[] = [];
  const server = await startFakeServer((req, res) => {
    if (req.method === "POST" && req.url === "/v1/traces" && String(req.headers["content-type"]).includes("json")) {
      const body = JSON.parse(req.body) as {
        resourceSpans: { resource: { attributes: OtlpKeyValue[] }; scopeSpans: { spans: { traceId: string; spanId: string; name: string; attributes: OtlpKeyValue[] }[] }[] }[];
      };
      for (const rs of body.resourceSpans ?? []) {
        const service = String(attrs(rs.resource?.attributes)["service.name"] ?? "");
        for (const ss of rs.scopeSpans ?? []) {
          for (const s of ss.spans ?? []) spans.push({ service, traceId: s.traceId, spanId: s.spanId, name: s.name, attributes: attrs(s.attributes) });
        }
      }
    }
    res.writeHead(200, { "content-type": "application/json" });
    res.end("{}");
  });
  return Object.assign(server, { spans });
}
