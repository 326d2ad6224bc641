/**
 * A reusable harness around llama.cpp's `llama-server` for benchmarks, plus streaming clients that drive any
 * OpenAI-compatible server (llama-server, the mlxm daemon) the same way, through the `openai` SDK.
 *
 *   const binary = await buildLlamaServer();            // runs bench/build-llama-server.sh (cached after the 1st run)
 *   const server = await startLlamaServer({ binary, modelPath, threads: 2, parallel: 4, ctxSize: 4096 });
 *   const r = await streamCompletion(server.url, { prompt: "Hello", maxTokens: 128 });
 *   await server.stop();
 *
 * `url` is the server root (`http://127.0.0.1:PORT`); the helpers append `/v1` for the OpenAI SDK.
 */
import { execFile, spawn, type ChildProcess } from "node:child_process";
import { createServer } from "node:net";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import OpenAI from "openai";

const here = dirname(fileURLToPath(import.meta.url));

export interface LlamaServerOptions {
  /** Path of the `llama-server` executable (see {@link buildLlamaServer}). */
  binary: string;
  modelPath: string;
  /** Generation threads (`-t`); also used for batch/prompt threads (`-tb`) unless `threadsBatch` is given. */
  threads: number;
  threadsBatch?: number;
  /** Number of slots (`-np`), i.e. concurrent sequences decoded together. Default 1. */
  parallel?: number;
  /**
   * Total KV context (`-c`). With `parallel > 1` llama-server splits it between slots unless `kvUnified` is set
   * (then the slots share one pool, like node-llama-cpp's context sequences). Default 2048 * parallel.
   */
  ctxSize?: number;
  /** Share one KV pool between slots (`--kv-unified`). Default true when `parallel > 1`. */
  kvUnified?: boolean;
  /** Logical batch size (`-b`). */
  batchSize?: number;
  /** Physical batch size (`-ub`). */
  ubatchSize?: number;
  /** ggml threadpool polling level 0..100 (`--poll`; llama-server's default is 50). */
  poll?: number;
  /** Port to listen on; default: a free port picked by the OS. */
  port?: number;
  host?: string;
  /** Extra command-line arguments, appended last. */
  extraArgs?: string[];
  /** Extra environment variables (e.g. `OMP_WAIT_POLICY`). */
  env?: NodeJS.ProcessEnv;
  /** How long to wait for `/health` to report ready. Default 120 s. */
  readyTimeoutMs?: number;
  /** Forward the server's log to this process's stderr (default: keep only the last lines, shown on failure). */
  verbose?: boolean;
}

export interface LlamaServerHandle {
  /** Root URL, e.g. `http://127.0.0.1:39123` (append `/v1` for OpenAI clients). */
  url: string;
  port: number;
  pid: number;
  /** The exact argument list the server was started with. */
  args: string[];
  /** The last lines the server logged (stderr + stdout). */
  logTail(): string;
  /** SIGTERM, then SIGKILL after `graceMs` (default 5 s). Resolves when the process has exited. */
  stop(graceMs?: number): Promise<void>;
}

/** Runs `bench/build-llama-server.sh` (a no-op when the cached binary exists) and returns the binary's path. */
export async function buildLlamaServer(env: NodeJS.ProcessEnv = {}): Promise<string> {
  const script = join(here, "build-llama-server.sh");
  const { stdout } = await promisify(execFile)("bash", [script], {
    env: { ...process.env, ...env },
    maxBuffer: 16 * 1024 * 1024,
  });
  const path = stdout.trim().split("\n").pop();
  if (!path) throw new Error("build-llama-server.sh printed no binary path");
  return path;
}

/** Asks the OS for a free TCP port on `host`. */
export async function freePort(host = "127.0.0.1"): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.on("error", reject);
    srv.listen(0, host, () => {
      const address = srv.address();
      const port = typeof address === "object" && address ? address.port : 0;
      srv.close(() => (port ? resolve(port) : reject(new Error("could not get a free port"))));
    });
  });
}

/** Starts `llama-server` on 127.0.0.1 and resolves once `/health` answers 200. */
export async function startLlamaServer(options: LlamaServerOptions): Promise<LlamaServerHandle> {
  const host = options.host ?? "127.0.0.1";
  const port = options.port ?? (await freePort(host));
  const parallel = options.parallel ?? 1;
  const ctxSize = options.ctxSize ?? 2048 * parallel;
  const kvUnified = options.kvUnified ?? parallel > 1;
  const args = [
    "--model", options.modelPath,
    "--host", host,
    "--port", String(port),
    "--threads", String(options.threads),
    "--threads-batch", String(options.threadsBatch ?? options.threads),
    "--parallel", String(parallel),
    "--ctx-size", String(ctxSize),
    kvUnified ? "--kv-unified" : "--no-kv-unified",
    // Benchmarks send the same prompt again and again: keep every request a cold prompt evaluation.
    "--cache-ram", "0",
    "--no-webui",
    ...(options.batchSize ? ["--batch-size", String(options.batchSize)] : []),
    ...(options.ubatchSize ? ["--ubatch-size", String(options.ubatchSize)] : []),
    ...(options.poll !== undefined ? ["--poll", String(options.poll)] : []),
    ...(options.extraArgs ?? []),
  ];
  const child = spawn(options.binary, args, {
    stdio: ["ignore", "pipe", "pipe"],
    env: { ...process.env, ...options.env },
  });
  const tail: string[] = [];
  const onData = (chunk: Buffer): void => {
    const text = chunk.toString("utf8");
    if (options.verbose) process.stderr.write(text);
    tail.push(...text.split("\n").filter(Boolean));
    if (tail.length > 200) tail.splice(0, tail.length - 200);
  };
  child.stdout?.on("data", onData);
  child.stderr?.on("data", onData);
  // A spawn failure (e.g. ENOENT) emits "error" and never "exit": treat it as an exit too.
  const exited = new Promise<number | null>((resolve) => {
    child.once("exit", (code) => resolve(code));
    child.once("error", () => resolve(null));
  });
  let hasExited = false;
  void exited.then(() => (hasExited = true));
  const spawnError = new Promise<never>((_, reject) => child.once("error", reject));
  void spawnError.catch(() => undefined);

  const url = `http://${host}:${port}`;
  const handle: LlamaServerHandle = {
    url,
    port,
    pid: child.pid ?? -1,
    args,
    logTail: () => tail.join("\n"),
    stop: (graceMs = 5000) => stopChild(child, exited, () => hasExited, graceMs),
  };

  const deadline = Date.now() + (options.readyTimeoutMs ?? 120_000);
  try {
    for (;;) {
      if (hasExited) throw new Error(`llama-server exited before it was ready`);
      const ok = await Promise.race([health(url), spawnError]);
      if (ok) break;
      if (Date.now() > deadline) throw new Error(`llama-server not ready after ${options.readyTimeoutMs ?? 120_000} ms`);
      await sleep(100);
    }
  } catch (error) {
    await handle.stop(1000);
    const message = error instanceof Error ? error.message : String(error);
    throw new Error(`${message}\n--- llama-server ${args.join(" ")}\n${handle.logTail()}`);
  }
  return handle;
}

async function health(url: string): Promise<boolean> {
  try {
    const response = await fetch(`${url}/health`, { signal: AbortSignal.timeout(2000) });
    await response.arrayBuffer();
    return response.status === 200;
  } catch {
    return false;
  }
}

async function stopChild(
  child: ChildProcess,
  exited: Promise<number | null>,
  hasExited: () => boolean,
  graceMs: number,
): Promise<void> {
  if (hasExited()) return;
  child.kill("SIGTERM");
  const timer = setTimeout(() => {
    if (!hasExited()) child.kill("SIGKILL");
  }, graceMs);
  await exited;
  clearTimeout(timer);
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Sampling/length options shared by both streaming helpers. */
export interface StreamOptions {
  /** Model name sent in the request (llama-server ignores it; the mlxm daemon routes on it). */
  model?: string;
  maxTokens: number;
  /** Default 0 (greedy). */
  temperature?: number;
  seed?: number;
  topP?: number;
  /**
   * llama-server only: keep generating past end-of-generation tokens so every run has exactly `maxTokens` tokens
   * (sent as its `ignore_eos` field). Not sent unless set: the mlxm daemon rejects unknown fields with a 400.
   */
  ignoreEos?: boolean;
  /**
   * llama-server only: `cache_prompt` (its default is true: a slot reuses the KV of its previous prompt, so repeating
   * one prompt makes TTFT look tiny). Set false for cold-prompt measurements. Not sent unless set.
   */
  cachePrompt?: boolean;
  /** Extra JSON fields merged into the request body. */
  extraBody?: Record<string, unknown>;
  apiKey?: string;
  signal?: AbortSignal;
  /** Keep the generated text in the result (default true). */
  keepText?: boolean;
}

export interface ChatStreamOptions extends StreamOptions {
  /** Either a plain user prompt or full messages. */
  prompt?: string;
  system?: string;
  messages?: OpenAI.Chat.ChatCompletionMessageParam[];
}

export interface TextStreamOptions extends StreamOptions {
  /** Raw prompt for `/v1/completions` (no chat template). */
  prompt: string;
}

/** llama-server's per-request timings (present on its final stream chunk). */
export interface LlamaServerTimings {
  prompt_n: number;
  prompt_ms: number;
  prompt_per_second: number;
  predicted_n: number;
  predicted_ms: number;
  predicted_per_second: number;
  cache_n?: number;
}

export interface StreamResult {
  /** Request start to the first non-empty content delta, as seen by the client. */
  ttftMs: number;
  /** Request start to end of stream. */
  durationMs: number;
  /** Completion tokens: server-reported usage when available, else llama-server timings, else the chunk count. */
  tokens: number;
  /** Number of non-empty content chunks received (≈ tokens for llama-server, which streams one token per chunk). */
  chunks: number;
  /** Client-side decode rate: (tokens - 1) / (durationMs - ttftMs) * 1000. */
  clientTokensPerSecond: number;
  promptTokens?: number;
  finishReason?: string | null;
  /** llama-server's own timings, when the server sent them. */
  serverTimings?: LlamaServerTimings;
  text?: string;
}

const clients = new Map<string, OpenAI>();

/** One OpenAI SDK client per (url, key), with retries off so that benchmark numbers are never silently retried. */
export function openaiClient(url: string, apiKey = "sk-bench"): OpenAI {
  const baseURL = url.replace(/\/+$/, "").replace(/\/v1$/, "") + "/v1";
  const key = `${baseURL} ${apiKey}`;
  let client = clients.get(key);
  if (!client) {
    client = new OpenAI({ baseURL, apiKey, maxRetries: 0, timeout: 10 * 60_000 });
    clients.set(key, client);
  }
  return client;
}

function commonBody(options: StreamOptions): Record<string, unknown> {
  return {
    max_tokens: options.maxTokens,
    temperature: options.temperature ?? 0,
    ...(options.seed !== undefined ? { seed: options.seed } : {}),
    ...(options.topP !== undefined ? { top_p: options.topP } : {}),
    stream: true,
    stream_options: { include_usage: true },
    ...(options.ignoreEos !== undefined ? { ignore_eos: options.ignoreEos } : {}),
    ...(options.cachePrompt !== undefined ? { cache_prompt: options.cachePrompt } : {}),
    ...options.extraBody,
  };
}

interface ChunkLike {
  usage?: { completion_tokens?: number; prompt_tokens?: number } | null;
  timings?: LlamaServerTimings;
  choices?: Array<{ finish_reason?: string | null; delta?: { content?: string | null }; text?: string }>;
}

async function consume(
  stream: AsyncIterable<unknown>,
  started: number,
  pick: (choice: NonNullable<ChunkLike["choices"]>[number]) => string | null | undefined,
  keepText: boolean,
): Promise<StreamResult> {
  let ttftMs = Number.NaN;
  let chunks = 0;
  let text = "";
  let usage: ChunkLike["usage"];
  let timings: LlamaServerTimings | undefined;
  let finishReason: string | null | undefined;
  for await (const raw of stream) {
    const chunk = raw as ChunkLike;
    if (chunk.usage) usage = chunk.usage;
    if (chunk.timings) timings = chunk.timings;
    for (const choice of chunk.choices ?? []) {
      const piece = pick(choice);
      if (piece) {
        if (chunks === 0) ttftMs = performance.now() - started;
        chunks++;
        if (keepText) text += piece;
      }
      if (choice.finish_reason) finishReason = choice.finish_reason;
    }
  }
  const durationMs = performance.now() - started;
  const tokens = usage?.completion_tokens ?? timings?.predicted_n ?? chunks;
  const decodeMs = durationMs - ttftMs;
  return {
    ttftMs,
    durationMs,
    tokens,
    chunks,
    clientTokensPerSecond: tokens > 1 && decodeMs > 0 ? ((tokens - 1) / decodeMs) * 1000 : Number.NaN,
    promptTokens: usage?.prompt_tokens ?? timings?.prompt_n,
    finishReason,
    serverTimings: timings,
    ...(keepText ? { text } : {}),
  };
}

/**
 * Streams one chat completion from `POST {url}/v1/chat/completions` (OpenAI SSE) and measures it from the client.
 * Works against llama-server and the mlxm daemon alike.
 */
export async function streamCompletion(url: string, options: ChatStreamOptions): Promise<StreamResult> {
  const messages: OpenAI.Chat.ChatCompletionMessageParam[] = options.messages ?? [
    ...(options.system ? [{ role: "system" as const, content: options.system }] : []),
    { role: "user" as const, content: options.prompt ?? "" },
  ];
  const body = { model: options.model ?? "bench", messages, ...commonBody(options) };
  const started = performance.now();
  const stream = await openaiClient(url, options.apiKey).chat.completions.create(
    body as unknown as OpenAI.Chat.ChatCompletionCreateParamsStreaming,
    { signal: options.signal },
  );
  return consume(stream, started, (choice) => choice.delta?.content, options.keepText ?? true);
}

/** Same as {@link streamCompletion} for the raw-prompt `POST {url}/v1/completions` endpoint (no chat template). */
export async function streamTextCompletion(url: string, options: TextStreamOptions): Promise<StreamResult> {
  const body = { model: options.model ?? "bench", prompt: options.prompt, ...commonBody(options) };
  const started = performance.now();
  const stream = await openaiClient(url, options.apiKey).completions.create(
    body as unknown as OpenAI.Completions.CompletionCreateParamsStreaming,
    { signal: options.signal },
  );
  return consume(stream, started, (choice) => choice.text, options.keepText ?? true);
}

/** Runs `n` streams concurrently (e.g. 1, 2, 4, 8) and reports each plus the aggregate throughput. */
export async function concurrentStreams(
  n: number,
  run: (index: number) => Promise<StreamResult>,
): Promise<{ results: StreamResult[]; wallMs: number; aggregateTokensPerSecond: number }> {
  const started = performance.now();
  const results = await Promise.all(Array.from({ length: n }, (_, i) => run(i)));
  const wallMs = performance.now() - started;
  const tokens = results.reduce((sum, r) => sum + r.tokens, 0);
  return { results, wallMs, aggregateTokensPerSecond: (tokens / wallMs) * 1000 };
}
