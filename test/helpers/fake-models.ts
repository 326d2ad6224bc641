/**
 * A scripted ModelService and the real app around it on port 0, for testing the HTTP layer (wire formats, error
 * shapes, disconnects) without the engine. Model names pick the behaviour:
 *   "missing" → model_not_found; "busy" → queue_full (Retry-After 3); "broken" → invalid_model;
 *   "explode" → one text piece, then an internal error mid-stream; "slow" → a piece every 10 ms until aborted;
 *   anything else → a `start` event, FAKE_REPLY in pieces (after FAKE_REASONING when reasoning is enabled; or one tool
 *   call when tool_choice asks for one), then done; "stopper" ends on the request's first stop sequence.
 */
import http from "node:http";
import type { AddressInfo } from "node:net";
import { resolveConfig } from "../../src/config/config.js";
import { createApp } from "../../src/daemon/app.js";
import { createContext, type DaemonServices } from "../../src/daemon/context.js";
import { RoutingModelService } from "../../src/daemon/routing/router.js";
import { SecretBox } from "../../src/daemon/routing/secret-box.js";
import type { ChatEvent, ChatRequest, CompletionRequest, EmbeddingRequest, EmbeddingResult } from "../../src/daemon/core/chat.js";
import type { DeleteResult, LoadedModel, ModelInfo, ModelService, ModelSummary } from "../../src/daemon/core/model-service.js";
import { HttpError, modelNotFound } from "../../src/daemon/errors.js";
import { KeyVerifier } from "../../src/daemon/auth/key-verifier.js";
import { Store } from "../../src/daemon/store/store.js";
import { createMetrics } from "../../src/observability/metrics.js";
import { silentLogger } from "../../src/observability/logger.js";
import { makeTempHome } from "./temp-home.js";
import { expressBornObjects } from "../../src/daemon/http/express-born-objects.js";

export const FAKE_REPLY = ["Hello", ", ", "world"];
export const FAKE_REASONING = ["Let me ", "think."];

export class FakeModels implements ModelService {
  /** Signals of generations that were aborted (client gone). */
  aborted = 0;
  active = 0;
  requests: (ChatRequest | CompletionRequest)[] = [];
  unloaded: string[] = [];

  private check(model: string): void {
    if (model === "missing") throw modelNotFound(model);
    if (model === "busy") throw new HttpError("queue_full", `model "${model}" is busy`, undefined, { "retry-after": "3" });
    if (model === "broken") throw new HttpError("invalid_model", "not a GGUF file", { problems: ["bad magic"] });
  }

  async *chat(request: ChatRequest | CompletionRequest, signal: AbortSignal): AsyncGenerator<ChatEvent> {
    this.check(request.model);
    this.requests.push(request);
    this.active++;
    try {
      if (request.model === "explode") {
        yield { type: "text", text: "partial" };
        throw new HttpError("internal", "the engine fell over");
      }
      if (request.model === "slow") {
        let n = 0;
        while (!signal.aborted) {
          yield { type: "text", text: "." };
          n++;
          await new Promise((r) => setTimeout(r, 10));
        }
        this.aborted++;
        yield { type: "done", finishReason: "cancelled", usage: { inputTokens: 1, outputTokens: n } };
        return;
      }
      const choice = "toolChoice" in request ? request.toolChoice : undefined;
      if (choice && (choice.type === "required" || choice.type === "tool") && "tools" in request && request.tools) {
        const name = choice.type === "tool" ? choice.name : request.tools[0]!.name;
        yield { type: "tool_call_start", index: 0, id: "call_fake1", name };
        yield { type: "tool_call_delta", index: 0, argumentsDelta: '{"city":' };
        yield { type: "tool_call_delta", index: 0, argumentsDelta: '"Paris"}' };
        yield { type: "done", finishReason: "tool_calls", usage: { inputTokens: 7, outputTokens: 6 } };
        return;
      }
      yield { type: "start", inputTokens: 5 };
      if ("reasoning" in request && request.reasoning?.enabled) for (const text of FAKE_REASONING) yield { type: "reasoning", text };
      for (const text of FAKE_REPLY) yield { type: "text", text };
      const stop = request.model === "stopper" ? request.sampling.stop?.[0] : undefined;
      yield {
        type: "done",
        finishReason: "stop",
        usage: { inputTokens: 5, outputTokens: FAKE_REPLY.length },
        ...(stop !== undefined ? { stopSequence: stop } : {}),
        timings: { queueMs: 0, loadMs: 2, timeToFirstTokenMs: 3, generationMs: 4 },
      };
    } finally {
      this.active--;
    }
  }

  async countTokens(request: ChatRequest): Promise<{ inputTokens: number }> {
    this.check(request.model);
    return { inputTokens: 5 };
  }

  complete(request: CompletionRequest, signal: AbortSignal): AsyncIterable<ChatEvent> {
    return this.chat(request, signal);
  }

  async embed(request: EmbeddingRequest): Promise<EmbeddingResult> {
    this.check(request.model);
    return { model: request.model, embeddings: request.inputs.map((s, i) => [s.length, i, 0.5, -0.25]), usage: { inputTokens: request.inputs.length * 2 } };
  }

  async load(model: string): Promise<void> {
    this.check(model);
  }

  async show(model: string): Promise<ModelInfo> {
    this.check(model);
    return {
      name: model, source: "test", digest: "sha256:00", sizeBytes: 10, modifiedAt: new Date(0).toISOString(), architecture: "llama", family: "llama",
      parameterCount: 1000, parameterSize: "1K", quantization: "F32", contextLength: 256, embeddingLength: 4, hasChatTemplate: true,
      files: [{ filename: "m.gguf", path: "/tmp/m.gguf", sizeBytes: 10 }], notes: ["fake"], metadata: {},
    };
  }

  /** What `list()` answers; tests set it. */
  listed: ModelSummary[] = [];
  deleted: string[] = [];

  async list(): Promise<ModelSummary[]> {
    return this.listed;
  }

  running(): LoadedModel[] {
    return [];
  }

  async delete(model: string): Promise<DeleteResult> {
    this.check(model);
    this.deleted.push(model);
    return { name: model, freedBytes: 0 };
  }

  async unload(model: string): Promise<boolean> {
    this.check(model);
    this.unloaded.push(model);
    return false;
  }
}

export interface FakeApp {
  baseUrl: string;
  models: FakeModels;
  store: Store;
  /** The services the app started with. */
  services: DaemonServices;
  /** Take the services away (as while starting) or give them back. */
  setServices(services: DaemonServices | undefined): void;
  /** Start draining, as shutdown does (there is no way back). */
  setDraining(): void;
  close(): Promise<void>;
}

/** The real createApp over an in-memory store and FakeModels, listening on 127.0.0.1:0. */
export async function startFakeApp(): Promise<FakeApp> {
  const { home, cleanup } = makeTempHome();
  const store = await Store.open(":memory:");
  const models = new FakeModels();
  const { context, setServices, setDraining } = createContext({
    version: "0.0.0-test",
    config: resolveConfig({}, { MLXM_HOME: home }),
    logger: silentLogger(),
    metrics: createMetrics(),
    startedAt: new Date(),
    address: () => "127.0.0.1:0",
    verifier: new KeyVerifier("test-admin-token-0123456789abcdef0123456789"),
  });
  // Only what the routes under test use; the cast covers services other engineers add later.
  const secrets = new SecretBox(home);
  // The router only for the routes API; generation and model lists go straight to FakeModels.
  const router = new RoutingModelService({ local: models, store, secrets, readEnv: () => undefined, logger: silentLogger() });
  const services = { store, models, router, secrets } as unknown as DaemonServices;
  setServices(services);
  const app = createApp(context);
  const server = http.createServer(expressBornObjects(app), app);
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
  return {
    baseUrl: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    models,
    store,
    services,
    setServices,
    setDraining,
    async close() {
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
      await store.close();
      cleanup();
    },
  };
}
