/**
 * The one place that reads process.env. Precedence: an explicit override (a CLI flag) beats the
 * environment, which beats the declared default.
 */
import os from "node:os";
import path from "node:path";
import { displayUrl } from "../observability/redact.js";
import { ConfigError, parseBoolean, parseBytes, parseCredential, parseDuration, parseHost, parseInteger, parseUrl } from "./parse.js";
import { parseFlashAttention, type FlashAttentionSetting } from "./flash-attention.js";
import { parseGpu, parseGpuLayers, type GpuLayersSetting, type GpuSetting } from "./gpu-settings.js";
import { DEFAULT_PORT, VARIABLES, findVariable, type VariableName } from "./variables.js";

export { ConfigError } from "./parse.js";
export type { GpuLayersSetting, GpuSetting } from "./gpu-settings.js";

export interface MlxmConfig {
  /** Where the daemon listens and the CLI connects. */
  host: string;
  port: number;
  /** Base URL the client uses, derived from host and port. */
  baseUrl: string;
  home: string;
  logLevel: string;
  shutdownGraceMs: number;
  noAutostart: boolean;
  /** The key the CLI sends (MLXM_API_KEY); locally the admin token is used instead. */
  apiKey?: string;
  security: {
    /** Extra allowed browser origins (globs). */
    origins: string[];
    maxBodyBytes: number;
    /** 0 means no limit. */
    requestTimeoutMs: number;
    tokenTimeoutMs: number;
    /** The service manager supervising this daemon, when a unit set MLXM_SERVICE. */
    service?: string;
  };
  startTimeoutMs: number;
  trace: {
    enabled: boolean;
    retentionMs: number;
    maxSpans: number;
    recordContent: boolean;
    logfireToken?: string;
    logfireBaseUrl?: string;
    otlpEndpoint?: string;
    exportGraceMs: number;
    exportTimeoutMs: number;
    /** W3C `traceparent` of the command that started the daemon, if any. */
    parent?: string;
  };
  engine: {
    threads?: number;
    /** Threads for decodes of more than one token (prompt chunks, batched steps); default: the engine's threads. */
    batchThreads?: number;
    /** Threads for a prompt evaluated while its request is the only one; default: the cores, at most 8. */
    promptThreads?: number;
    maxMemoryBytes?: number;
    maxLoadedModels: number;
    numParallel: number;
    maxQueue: number;
    keepAliveMs: number;
    contextSize: number;
    prefixReuse: boolean;
    /** A request generating alone runs on the lean loop of engine/direct-decode.ts. */
    directDecode: boolean;
    /** The lean loop may park libuv's pool down to one thread (engine/pool-parking.ts). */
    poolParking: boolean;
    /** llama.cpp's flash attention for contexts (config/flash-attention.ts). */
    flashAttention: FlashAttentionSetting;
    /** Compute backend: `auto` takes what node-llama-cpp finds; a named one must load or start-up fails. */
    gpu: GpuSetting;
    /** Layers offloaded to the GPU (node-llama-cpp's `gpuLayers`). */
    gpuLayers: GpuLayersSetting;
  };
  hub: {
    endpoint: string;
    token?: string;
    concurrency: number;
    chunkSizeBytes: number;
    stallTimeoutMs: number;
    /** Write pulled files and imported copies past the page cache (O_DIRECT) where the file system takes it. */
    directIo: boolean;
    /** The Hugging Face hub cache whose verified files pulls reuse. */
    cacheDir: string;
  };
  providers: {
    openai: { apiKey?: string; baseUrl?: string };
    anthropic: { apiKey?: string; baseUrl?: string };
  };
}

export type Overrides = Partial<Record<VariableName, string | undefined>>;
export type Environment = Readonly<Record<string, string | undefined>>;

/** The raw string for one variable after precedence, or undefined when nothing sets it. */
export function rawValue(name: VariableName, env: Environment, overrides: Overrides = {}): string | undefined {
  const override = overrides[name];
  if (override !== undefined) return override;
  const fromEnv = env[name];
  if (fromEnv !== undefined && fromEnv !== "") return fromEnv;
  const spec = findVariable(name);
  return typeof spec.defaultValue === "function" ? spec.defaultValue() : spec.defaultValue;
}

export function resolveConfig(env: Environment = process.env, overrides: Overrides = {}): MlxmConfig {
  const raw = (name: VariableName) => rawValue(name, env, overrides);
  const req = (name: VariableName): string => {
    const v = raw(name);
    if (v === undefined) throw new ConfigError(`${name} has no value`);
    return v;
  };
  const optInt = (name: VariableName, min = 0) => {
    const v = raw(name);
    return v === undefined ? undefined : parseInteger(name, v, min);
  };
  /**
   * A thread count: at most the CPUs this process may run on. Beyond them ggml's threads, which busy-wait for each
   * other at every step, crawl (64 threads on 2 CPUs took 28 s for a 30-token prompt) or, past a few hundred, hang.
   */
  const optThreads = (name: VariableName) => {
    const n = optInt(name, 1);
    if (n === undefined) return n;
    const cpus = os.availableParallelism();
    if (n > cpus) {
      throw new ConfigError(`${name} must be at most ${cpus}, the CPUs this machine gives mlxm (more threads than CPUs wait on each other), got ${n}`);
    }
    return n;
  };
  const optUrl = (name: VariableName) => {
    const v = raw(name);
    return v === undefined ? undefined : parseUrl(name, v);
  };

  const { host, port } = parseHost("MLXM_HOST", req("MLXM_HOST"), DEFAULT_PORT);
  const connectHost = host === "0.0.0.0" ? "127.0.0.1" : host === "::" ? "::1" : host;
  const maxMemory = raw("MLXM_MAX_MEMORY");
  return {
    host,
    port,
    baseUrl: `http://${connectHost.includes(":") ? `[${connectHost}]` : connectHost}:${port}`,
    home: path.resolve(expandHome(req("MLXM_HOME"))),
    logLevel: req("MLXM_LOG_LEVEL"),
    shutdownGraceMs: parseDuration("MLXM_SHUTDOWN_GRACE", req("MLXM_SHUTDOWN_GRACE")),
    noAutostart: parseBoolean("MLXM_NO_AUTOSTART", req("MLXM_NO_AUTOSTART")),
    apiKey: parseCredential("MLXM_API_KEY", raw("MLXM_API_KEY")),
    security: {
      origins: (raw("MLXM_ORIGINS") ?? "").split(",").map((o) => o.trim()).filter(Boolean),
      maxBodyBytes: parseBytes("MLXM_MAX_BODY", req("MLXM_MAX_BODY")),
      requestTimeoutMs: parseDuration("MLXM_REQUEST_TIMEOUT", req("MLXM_REQUEST_TIMEOUT")),
      tokenTimeoutMs: parseDuration("MLXM_TOKEN_TIMEOUT", req("MLXM_TOKEN_TIMEOUT")),
      service: raw("MLXM_SERVICE"),
    },
    startTimeoutMs: parseDuration("MLXM_START_TIMEOUT", req("MLXM_START_TIMEOUT")),
    trace: {
      enabled: parseBoolean("MLXM_TRACE", req("MLXM_TRACE")),
      retentionMs: parseRetention(req("MLXM_TRACE_RETENTION")),
      maxSpans: parseInteger("MLXM_TRACE_MAX_SPANS", req("MLXM_TRACE_MAX_SPANS"), 1),
      recordContent: parseBoolean("MLXM_TRACE_CONTENT", req("MLXM_TRACE_CONTENT")),
      logfireToken: parseCredential("LOGFIRE_TOKEN", raw("LOGFIRE_TOKEN")),
      logfireBaseUrl: optUrl("LOGFIRE_BASE_URL"),
      otlpEndpoint: optUrl("OTEL_EXPORTER_OTLP_ENDPOINT"),
      exportGraceMs: parseDuration("MLXM_TRACE_EXPORT_GRACE", req("MLXM_TRACE_EXPORT_GRACE")),
      exportTimeoutMs: parseDuration("MLXM_TRACE_EXPORT_TIMEOUT", req("MLXM_TRACE_EXPORT_TIMEOUT")),
      parent: raw("TRACEPARENT"),
    },
    engine: {
      threads: optThreads("MLXM_THREADS"),
      batchThreads: optThreads("MLXM_BATCH_THREADS"),
      promptThreads: optThreads("MLXM_PROMPT_THREADS"),
      maxMemoryBytes: maxMemory === undefined ? undefined : parseBytes("MLXM_MAX_MEMORY", maxMemory),
      maxLoadedModels: parseInteger("MLXM_MAX_LOADED_MODELS", req("MLXM_MAX_LOADED_MODELS"), 1),
      numParallel: parseInteger("MLXM_NUM_PARALLEL", req("MLXM_NUM_PARALLEL"), 1),
      maxQueue: parseInteger("MLXM_MAX_QUEUE", req("MLXM_MAX_QUEUE"), 0),
      keepAliveMs: parseDuration("MLXM_KEEP_ALIVE", req("MLXM_KEEP_ALIVE")),
      contextSize: parseInteger("MLXM_CONTEXT_SIZE", req("MLXM_CONTEXT_SIZE"), 64),
      prefixReuse: parseBoolean("MLXM_PREFIX_REUSE", req("MLXM_PREFIX_REUSE")),
      directDecode: parseBoolean("MLXM_DIRECT_DECODE", req("MLXM_DIRECT_DECODE")),
      poolParking: parseBoolean("MLXM_POOL_PARKING", req("MLXM_POOL_PARKING")),
      flashAttention: parseFlashAttention("MLXM_FLASH_ATTENTION", req("MLXM_FLASH_ATTENTION")),
      gpu: parseGpu("MLXM_GPU", req("MLXM_GPU")),
      gpuLayers: parseGpuLayers("MLXM_GPU_LAYERS", req("MLXM_GPU_LAYERS")),
    },
    hub: {
      endpoint: parseUrl("HF_ENDPOINT", req("HF_ENDPOINT")),
      token: parseCredential("HF_TOKEN", raw("HF_TOKEN")),
      concurrency: parseInteger("MLXM_PULL_CONCURRENCY", req("MLXM_PULL_CONCURRENCY"), 1),
      chunkSizeBytes: parseBytes("MLXM_PULL_CHUNK_SIZE", req("MLXM_PULL_CHUNK_SIZE")),
      stallTimeoutMs: parseDuration("MLXM_PULL_STALL_TIMEOUT", req("MLXM_PULL_STALL_TIMEOUT")),
      directIo: parseBoolean("MLXM_PULL_DIRECT_IO", req("MLXM_PULL_DIRECT_IO")),
      // huggingface_hub's own precedence: HF_HUB_CACHE, else HF_HOME/hub.
      cacheDir: path.resolve(expandHome(raw("HF_HUB_CACHE") ?? path.join(req("HF_HOME"), "hub"))),
    },
    providers: {
      openai: { apiKey: parseCredential("OPENAI_API_KEY", raw("OPENAI_API_KEY")), baseUrl: optUrl("OPENAI_BASE_URL") },
      anthropic: { apiKey: parseCredential("ANTHROPIC_API_KEY", raw("ANTHROPIC_API_KEY")), baseUrl: optUrl("ANTHROPIC_BASE_URL") },
    },
  };
}

/**
 * Whether the CLI traces this command (MLXM_TRACE), read before the rest of the configuration, with the same words
 * as every boolean. A value that is not a boolean counts as on here; the command itself then reports it.
 */
export function cliTracingEnabled(env: Environment = process.env): boolean {
  try {
    return parseBoolean("MLXM_TRACE", rawValue("MLXM_TRACE", env) ?? "true");
  } catch {
    return true;
  }
}

function expandHome(p: string): string {
  return p === "~" || p.startsWith("~/") ? path.join(os.homedir(), p.slice(1)) : p;
}

/** One row per variable with its effective value, secrets masked: for `serve --help` and the start-up log. */
export function describeVariables(env: Environment = process.env, overrides: Overrides = {}) {
  return VARIABLES.map((spec) => {
    const value = rawValue(spec.name, env, overrides);
    const source = overrides[spec.name] !== undefined ? "flag" : env[spec.name] ? "env" : "default";
    const secret = "secret" in spec && spec.secret;
    return {
      name: spec.name,
      group: spec.group,
      help: spec.help,
      source,
      // A URL may carry credentials (`https://user:pass@collector`, `?token=`): shown masked.
      value: secret ? (value ? "(set)" : undefined) : value !== undefined && spec.kind === "url" ? displayUrl(value) : value,
    };
  });
}

/** How long spans are kept: negative is forever (as every duration here); zero would keep nothing, so it is refused. */
function parseRetention(raw: string): number {
  const ms = parseDuration("MLXM_TRACE_RETENTION", raw);
  if (ms === 0) throw new ConfigError(`MLXM_TRACE_RETENTION must be more than 0 (or negative to keep spans forever), got "${raw}"`);
  return ms;
}
