/** `recordError`: a failure marks its span ERROR; a backend declining an input another backend may take does not. */
import { expect } from "chai";
import { SpanStatusCode } from "@opentelemetry/api";
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor } from "@opentelemetry/sdk-trace-base";
import { badRequest, UnsupportedInputError } from "../../src/daemon/errors.js";
import { recordError } from "../../src/observability/spans.js";

describe("recordError", () => {
  const exporter = new InMemorySpanExporter();
  const tracer = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] }).getTracer("test");
  const recorded = (err: unknown) => {
    exporter.reset();
    const span = tracer.startSpan("chat");
    recordError(span, err);
    span.end();
    return exporter.getFinishedSpans()[0]!;
  };

  it("marks a failure as ERROR with its type", () => {
    const span = recorded(badRequest("messages must be a list", "messages"));
    expect(span.status.code).to.equal(SpanStatusCode.ERROR);
    expect(span.attributes["error.type"]).to.equal("bad_request");
  });

  it("records a declined input as an event, not an error: the next backend of the name may serve it", () => {
    const span = recorded(new UnsupportedInputError('images are not supported: "m" is a local text-only model', "messages"));
    expect(span.status.code).to.equal(SpanStatusCode.UNSET);
    expect(span.attributes).not.to.have.property("error.type");
    expect(span.events.map((e) => [e.name, e.attributes?.reason])).to.deep.equal([["declined", 'images are not supported: "m" is a local text-only model']]);
  });
});
