/**
 * Runs `onEnding`, i.e. while the span is still writable and before any processor's `onEnd`: every exporter
 * (Logfire, OTLP, the local store) therefore sees only redacted attributes, whatever order they were added in.
 */
import type { Context } from "@opentelemetry/api";
import type { ReadableSpan, Span, SpanProcessor } from "@opentelemetry/sdk-trace-base";
import { isContentKey, redactAttribute, scrubText } from "./redact.js";

export class RedactingSpanProcessor implements SpanProcessor {
  constructor(private readonly recordContent: boolean) {}

  onStart(_span: Span, _ctx: Context): void {}

  onEnding(span: Span): void {
    const attrs = span.attributes as Record<string, unknown>;
    for (const [key, value] of Object.entries(attrs)) {
      const redacted = redactAttribute(key, value as never, this.recordContent);
      if (redacted === undefined) {
        // Spans cannot drop attributes once set; deleting from the backing object is the only way.
        delete attrs[key];
      } else if (redacted !== value) {
        attrs[key] = redacted;
      }
    }
    for (const ev of span.events) {
      if (!ev.attributes) continue;
      for (const [key, value] of Object.entries(ev.attributes)) {
        if (isContentKey(key) && !this.recordContent) delete (ev.attributes as Record<string, unknown>)[key];
        else if (typeof value === "string") (ev.attributes as Record<string, unknown>)[key] = scrubText(value);
      }
    }
    if (span.status.message) span.status.message = scrubText(span.status.message);
  }

  onEnd(_span: ReadableSpan): void {}
  async forceFlush(): Promise<void> {}
  async shutdown(): Promise<void> {}
}
