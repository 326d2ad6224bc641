/**
 * A minimal OTLP/HTTP (JSON) receiver: what a collector would get from the daemon's exporters (spans and
 * metrics). Also the two broken backends a trace exporter must survive: one that refuses connections and one
 * that accepts them and never answers.
 */
import net from "node:net";
import { startFakeServer, type FakeServer } from "./http-server.js";

export interface ReceivedSpan {
  service: string;
  resource: Record<string, unknown>;
  traceId: string;
  spanId: string;
  parentSpanId: string | undefined;
  name: string;
  /** OTLP status code: 0 unset, 1 ok, 2 error. */
  statusCode: number;
  startTimeUnixNano: string;
  attributes: Record<string, unknown>;
}

export interface ReceivedMetric {
  service: string;
  name: string;
  unit: string;
  /** Data points of a histogram: attributes, count and sum. */
  points: { attributes: Record<string, unknown>; count: number; sum: number }[];
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

interface OtlpSpan {
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  name: string;
  startTimeUnixNano: string;
  status?: { code?: number };
  attributes: OtlpKeyValue[];
}

interface OtlpMetric {
  name: string;
  unit?: string;
  histogram?: { dataPoints: { attributes: OtlpKeyValue[]; count: string | number; sum?: number }[] };
}

export async function startOtlpReceiver(): Promise<FakeServer & { spans: ReceivedSpan[]; metrics: ReceivedMetric[] }> {
  const spans: ReceivedSpan[] = [];
  const metrics: ReceivedMetric[] = [];
  const server = await startFakeServer((req, res) => {
    const json = String(req.headers["content-type"]).includes("json");
    if (req.method === "POST" && req.url === "/v1/traces" && json) {
      const body = JSON.parse(req.body) as { resourceSpans: { resource: { attributes: OtlpKeyValue[] }; scopeSpans: { spans: OtlpSpan[] }[] }[] };
      for (const rs of body.resourceSpans ?? []) {
        const resource = attrs(rs.resource?.attributes);
        for (const ss of rs.scopeSpans ?? []) {
          for (const s of ss.spans ?? []) {
            spans.push({
              service: String(resource["service.name"] ?? ""),
              resource,
              traceId: s.traceId,
              spanId: s.spanId,
              parentSpanId: s.parentSpanId || undefined,
              name: s.name,
              statusCode: s.status?.code ?? 0,
              startTimeUnixNano: String(s.startTimeUnixNano),
              attributes: attrs(s.attributes),
            });
          }
        }
      }
    }
    if (req.method === "POST" && req.url === "/v1/metrics" && json) {
      const body = JSON.parse(req.body) as { resourceMetrics: { resource: { attributes: OtlpKeyValue[] }; scopeMetrics: { metrics: OtlpMetric[] }[] }[] };
      for (const rm of body.resourceMetrics ?? []) {
        const service = String(attrs(rm.resource?.attributes)["service.name"] ?? "");
        for (const sm of rm.scopeMetrics ?? []) {
          for (const m of sm.metrics ?? []) {
            const points = (m.histogram?.dataPoints ?? []).map((p) => ({ attributes: attrs(p.attributes), count: Number(p.count), sum: Number(p.sum ?? 0) }));
            metrics.push({ service, name: m.name, unit: m.unit ?? "", points });
          }
        }
      }
    }
    res.writeHead(200, { "content-type": "application/json" });
    res.end("{}");
  });
  return Object.assign(server, { spans, metrics });
}

/** An address where nothing listens: connections are refused at once. */
export async function refusingEndpoint(): Promise<string> {
  const server = net.createServer();
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
  const { port } = server.address() as net.AddressInfo;
  await new Promise<void>((r) => server.close(() => r()));
  return `http://127.0.0.1:${port}`;
}

/**
 * A backend that accepts connections and reads requests but never answers (a firewall that drops, a hung proxy).
 * On a given `port` (rejects when it is taken), else on a free one.
 */
export async function silentEndpoint(port = 0): Promise<{ url: string; connections: () => number; close(): Promise<void> }> {
  const sockets = new Set<net.Socket>();
  let connections = 0;
  const server = net.createServer((socket) => {
    connections++;
    sockets.add(socket);
    socket.on("data", () => {});
    socket.on("error", () => {});
    socket.on("close", () => sockets.delete(socket));
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, "127.0.0.1", () => resolve());
  });
  const bound = (server.address() as net.AddressInfo).port;
  return {
    url: `http://127.0.0.1:${bound}`,
    connections: () => connections,
    close: () =>
      new Promise<void>((r) => {
        for (const s of sockets) s.destroy();
        server.close(() => r());
      }),
  };
}
