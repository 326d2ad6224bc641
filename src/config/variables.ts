/**
 * Every environment variable mlxm reads, declared once: name, default, help and whether it is secret.
 * The same table renders `mlxm serve --help`, the README and the daemon's start-up log (secrets masked),
 * so a variable cannot exist in one place and be missing from another (Ollama's envconfig does the same).
 */
import os from "node:os";
import path from "node:path";

export type VariableKind = "string" | "boolean" | "integer" | "bytes" | "duration" | "url" | "host";

export interface VariableSpec {
  readonly name: string;
  readonly kind: VariableKind;
  /** The default as a user would write it; `undefined` means unset. */
  readonly defaultValue: (() => string | undefined) | string | undefined;
  /** How help shows a computed default (so generated help does not embed this machine's paths). */
  readonly shownDefault?: string;
  readonly help: string;
  /** Secrets are never logged, traced or printed, only reported as set or unset. */
  readonly secret?: boolean;
  /** Which part of mlxm reads it, for grouping in help output. */
  readonly group: "daemon" | "cli" | "engine" | "observability" | "hub" | "providers";
}

export const DEFAULT_PORT = 10242;
export const DEFAULT_HOST = `127.0.0.1:${DEFAULT_PORT}`;

export const VARIABLES = [
  { name: "MLXM_HOST", kind: "host", group: "daemon", defaultValue: DEFAULT_HOST,
    help: "Address the daemon listens on and the CLI connects to (host:port, or http://host:port)." },
  { name: "MLXM_HOME", kind: "string", group: "daemon", defaultValue: () => path.join(os.homedir(), ".mlxm"), shownDefault: "~/.mlxm",
    help: "Where state lives: the SQLite database, model files, logs, the pid file." },
  { name: "MLXM_LOG_LEVEL", kind: "string", group: "daemon", defaultValue: "info",
    help: "Daemon log level: trace, debug, info, warn, error." },
  { name: "MLXM_SHUTDOWN_GRACE", kind: "duration", group: "daemon", defaultValue: "10s",
    help: "How long SIGINT/SIGTERM waits for in-flight requests before closing them." },
  { name: "MLXM_ORIGINS", kind: "string", group: "daemon", defaultValue: undefined,
    help: "Extra browser origins allowed to call the daemon, comma-separated globs (e.g. https://*.example.com); pages on localhost are always allowed." },
  { name: "MLXM_MAX_BODY", kind: "bytes", group: "daemon", defaultValue: "32MiB",
    help: "Largest request body the generation APIs accept (413 beyond it); other endpoints have smaller fixed limits." },
  { name: "MLXM_REQUEST_TIMEOUT", kind: "duration", group: "daemon", defaultValue: "10m",
    help: "Longest a generation request may run, queueing included, before it is stopped (0 for no limit); receiving any request is bounded by it too, at most 5 min." },
  { name: "MLXM_TOKEN_TIMEOUT", kind: "duration", group: "daemon", defaultValue: "5m",
    help: "Longest a generation may go without producing a token (queueing and prompt processing included) before it is stopped (0 for no limit)." },
  { name: "MLXM_SERVICE", kind: "string", group: "daemon", defaultValue: undefined,
    help: "Set by the unit `mlxm service install` writes (launchd or systemd), so `mlxm daemon status|stop` say the daemon is supervised. Under launchd, `serve` exits 0 instead of 5 when another daemon holds MLXM_HOME: launchd cannot be told not to restart on exit 5." },
  { name: "MLXM_API_KEY", kind: "string", group: "cli", defaultValue: undefined, secret: true,
    help: "API key the CLI sends; needed for a daemon on another machine (--host) that requires keys. Locally the CLI uses the admin token in MLXM_HOME." },
  { name: "MLXM_NO_AUTOSTART", kind: "boolean", group: "cli", defaultValue: "false",
    help: "When true, CLI commands never start a background daemon; they fail with exit code 3 instead." },
  { name: "MLXM_START_TIMEOUT", kind: "duration", group: "cli", defaultValue: "30s",
    help: "How long `mlxm daemon start` (and autostart) waits for the daemon to answer." },
  { name: "MLXM_TRACE", kind: "boolean", group: "observability", defaultValue: "true",
    help: "Trace CLI commands and hand their spans to the daemon's local span store." },
  { name: "TRACEPARENT", kind: "string", group: "observability", defaultValue: undefined,
    help: "W3C trace context the daemon's start-up span joins; `mlxm daemon start` and autostart set it to the command's." },
  { name: "MLXM_TRACE_RETENTION", kind: "duration", group: "observability", defaultValue: "7d",
    help: "Local span store: spans older than this are deleted (negative: never; MLXM_TRACE_MAX_SPANS still bounds it)." },
  { name: "MLXM_TRACE_MAX_SPANS", kind: "integer", group: "observability", defaultValue: "200000",
    help: "Local span store: the oldest spans beyond this count are deleted." },
  { name: "MLXM_TRACE_CONTENT", kind: "boolean", group: "observability", defaultValue: "false",
    help: "Record prompt and completion text in spans (off by default: prompts can hold secrets)." },
  { name: "LOGFIRE_TOKEN", kind: "string", group: "observability", defaultValue: undefined, secret: true,
    help: "Send the daemon's spans and metrics, and the CLI's command spans, to Logfire." },
  { name: "LOGFIRE_BASE_URL", kind: "url", group: "observability", defaultValue: undefined,
    help: "Logfire's ingest address (default: the region the token names)." },
  { name: "OTEL_EXPORTER_OTLP_ENDPOINT", kind: "url", group: "observability", defaultValue: undefined,
    help: "Export the daemon's spans and metrics, and the CLI's command spans, over OTLP/HTTP to this collector." },
  { name: "MLXM_TRACE_EXPORT_GRACE", kind: "duration", group: "observability", defaultValue: "1s",
    help: "At shutdown, how long Logfire or the OTLP collector may take for the last spans before they are dropped." },
  { name: "MLXM_TRACE_EXPORT_TIMEOUT", kind: "duration", group: "observability", defaultValue: "5s",
    help: "The deadline of one export to Logfire or the OTLP collector; a batch that misses it is dropped and counted." },
  { name: "MLXM_THREADS", kind: "integer", group: "engine", defaultValue: undefined,
    help: "CPU threads for local inference (default: 1 on machines with 2 cores or fewer, else half the cores, at most 8)." },
  { name: "MLXM_BATCH_THREADS", kind: "integer", group: "engine", defaultValue: undefined,
    help: "CPU threads for decodes of more than one token (prompts, several requests stepping together); default: MLXM_THREADS. More than MLXM_THREADS measured slower on a busy 2-core machine." },
  { name: "MLXM_PROMPT_THREADS", kind: "integer", group: "engine", defaultValue: undefined,
    help: "CPU threads for a prompt of 32 tokens or more evaluated while its request is the only one generating (default: the cores, at most 8, never fewer than MLXM_BATCH_THREADS). Fewer while other tasks are running (Linux). Shorter prompts, and several requests stepping together, use MLXM_BATCH_THREADS." },
  { name: "MLXM_MAX_MEMORY", kind: "bytes", group: "engine", defaultValue: undefined,
    help: "Memory budget for loaded models, e.g. 8GiB (default: a share of system memory)." },
  { name: "MLXM_MAX_LOADED_MODELS", kind: "integer", group: "engine", defaultValue: "3",
    help: "Most models loaded at once; the least recently used idle one is unloaded first." },
  { name: "MLXM_NUM_PARALLEL", kind: "integer", group: "engine", defaultValue: "4",
    help: "Requests one loaded model serves at once (context sequences)." },
  { name: "MLXM_MAX_QUEUE", kind: "integer", group: "engine", defaultValue: "64",
    help: "Requests waiting per model before new ones get 429 with Retry-After." },
  { name: "MLXM_KEEP_ALIVE", kind: "duration", group: "engine", defaultValue: "5m",
    help: "How long an idle model stays loaded (Ollama semantics: 0 unloads at once, -1 keeps it)." },
  { name: "MLXM_CONTEXT_SIZE", kind: "integer", group: "engine", defaultValue: "2048",
    help: "Context length per sequence for local models (capped at the model's own)." },
  { name: "MLXM_PREFIX_REUSE", kind: "boolean", group: "engine", defaultValue: "true",
    help: "Keep each sequence's evaluated prompt and give a request the sequence holding the longest prefix of it, so a conversation's next turn evaluates only its new tokens." },
  { name: "MLXM_DIRECT_DECODE", kind: "boolean", group: "engine", defaultValue: "true",
    help: "Run a request that generates alone on a lean decode-and-sample loop instead of node-llama-cpp's batching loop, decoding each token while the one before is delivered (the same tokens; over HTTP on 2 cores 1.076x as fast, median of 60 alternating pairs); false keeps node-llama-cpp's loop for every request." },
  { name: "MLXM_POOL_PARKING", kind: "boolean", group: "engine", defaultValue: "true",
    help: "While one request generates alone and nothing else uses libuv's thread pool, park all its threads but one, so each token's sample runs straight after its decode (one main-thread round trip less per token); anything else that needs the pool releases them at once. false never parks." },
  { name: "MLXM_FLASH_ATTENTION", kind: "string", group: "engine", defaultValue: "auto",
    help: "llama.cpp's flash attention for local models: auto (on where the backend supports it, the CPU included), on or off. On the CPU, off made a chat's later turns start about a third sooner and decoding about a tenth slower (measured on 2 cores)." },
  { name: "MLXM_GPU", kind: "string", group: "engine", defaultValue: "auto",
    help: "Compute backend for local models: auto (Metal, CUDA or Vulkan when present, else the CPU), off, metal, cuda or vulkan." },
  { name: "MLXM_GPU_LAYERS", kind: "string", group: "engine", defaultValue: "auto",
    help: "Model layers to offload to the GPU: auto (as many as fit in free VRAM), max, or a number." },
  { name: "HF_ENDPOINT", kind: "url", group: "hub", defaultValue: "https://huggingface.co",
    help: "Hugging Face Hub base URL." },
  { name: "MLXM_PULL_CONCURRENCY", kind: "integer", group: "hub", defaultValue: "4",
    help: "Parallel ranged connections per file a pull downloads." },
  { name: "MLXM_PULL_CHUNK_SIZE", kind: "bytes", group: "hub", defaultValue: "64MiB",
    help: "Bytes per ranged request; an interrupted pull re-fetches at most about one chunk per connection." },
  { name: "MLXM_PULL_STALL_TIMEOUT", kind: "duration", group: "hub", defaultValue: "30s",
    help: "A pull connection that delivers no byte for this long is dropped and retried." },
  { name: "MLXM_PULL_DIRECT_IO", kind: "boolean", group: "hub", defaultValue: "true",
    help: "Write pulled files and imported copies past the page cache (O_DIRECT, Linux) where the file system takes it; false keeps a new model in memory and may suit a network file system." },
  { name: "HF_TOKEN", kind: "string", group: "hub", defaultValue: undefined, secret: true,
    help: "Hugging Face token for private and gated repositories." },
  { name: "HF_HOME", kind: "string", group: "hub", defaultValue: () => path.join(os.homedir(), ".cache", "huggingface"),
    shownDefault: "~/.cache/huggingface",
    help: "Hugging Face's home; its `hub` folder is the cache `mlxm pull` reuses verified files from." },
  { name: "HF_HUB_CACHE", kind: "string", group: "hub", defaultValue: undefined, shownDefault: "$HF_HOME/hub",
    help: "The Hugging Face hub cache `mlxm pull` looks in for the exact file (checked by sha256) before downloading it." },
  { name: "OPENAI_API_KEY", kind: "string", group: "providers", defaultValue: undefined, secret: true,
    help: "API key for routes to OpenAI." },
  { name: "OPENAI_BASE_URL", kind: "url", group: "providers", defaultValue: undefined,
    help: "Base URL for routes to OpenAI (default: the OpenAI API)." },
  { name: "ANTHROPIC_API_KEY", kind: "string", group: "providers", defaultValue: undefined, secret: true,
    help: "API key for routes to Anthropic." },
  { name: "ANTHROPIC_BASE_URL", kind: "url", group: "providers", defaultValue: undefined,
    help: "Base URL for routes to Anthropic (default: the Anthropic API)." },
] as const satisfies readonly VariableSpec[];

export type VariableName = (typeof VARIABLES)[number]["name"];

export function findVariable(name: VariableName): VariableSpec {
  const spec = VARIABLES.find((v) => v.name === name);
  if (!spec) throw new Error(`undeclared variable ${name}`);
  return spec;
}
