/**
 * The base of every command: `--json` for free, config resolved with flag > env > default, a client that
 * starts the daemon when needed, and one place that maps typed errors to exit codes and messages.
 */
import { Command, Flags, type Interfaces } from "@oclif/core";
import { resolveConfig, ConfigError, type MlxmConfig, type Overrides } from "../config/config.js";
import {
  AlreadyRunningError,
  DaemonStartError,
  DaemonUnreachableError,
  InterruptedError,
  MlxmError,
  NotFoundError,
  UnauthorizedError,
} from "../client/errors.js";
import { readAdminToken } from "../daemon/auth/admin-token.js";
import { isLoopbackHost } from "../daemon/auth/loopback.js";
import { MlxmClient } from "../client/mlxm-client.js";
import { ensureDaemon } from "./daemon-control.js";
import { ExitCode } from "./exit-codes.js";
import { HomeError } from "../home/home-dir.js";
import { isBadRequestCode } from "../protocol/errors.js";
import { cliTraceHeaders, traceCommand, traceCommandFailure } from "./trace-context.js";

export type BaseFlags<T extends typeof Command> = Interfaces.InferredFlags<(typeof BaseCommand)["baseFlags"] & T["flags"]>;
export type BaseArgs<T extends typeof Command> = Interfaces.InferredArgs<T["args"]>;

export abstract class BaseCommand<T extends typeof Command> extends Command {
  static override enableJsonFlag = true;

  static override baseFlags = {
    host: Flags.string({
      description: "Daemon address (host:port). Overrides MLXM_HOST.",
      helpGroup: "GLOBAL",
    }),
    autostart: Flags.boolean({
      description: "Start a background daemon when none answers. --no-autostart (or MLXM_NO_AUTOSTART=1) fails instead.",
      allowNo: true,
      helpGroup: "GLOBAL",
    }),
  };

  protected flags!: BaseFlags<T>;
  protected args!: BaseArgs<T>;
  /** mlxm's own settings (oclif's `this.config` is its plugin config). */
  protected settings!: MlxmConfig;

  protected override async init(): Promise<void> {
    await super.init();
    const { args, flags } = await this.parse({
      flags: this.ctor.flags,
      baseFlags: (super.ctor as typeof BaseCommand).baseFlags,
      enableJsonFlag: this.ctor.enableJsonFlag,
      args: this.ctor.args,
      strict: this.ctor.strict,
    });
    this.flags = flags as BaseFlags<T>;
    this.args = args as BaseArgs<T>;
    this.settings = resolveConfig(process.env, this.configOverrides());
    traceCommand({
      id: (this.id ?? this.ctor.id ?? "").replaceAll(":", " "),
      flags: this.flags as Record<string, unknown>,
      baseUrl: this.settings.baseUrl,
      home: this.settings.home,
      credential: () => cliCredential(this.settings),
    });
  }

  /** Flags that override environment variables. Subcommands with more such flags extend this. */
  protected configOverrides(): Overrides {
    const flags = this.flags as { host?: string; autostart?: boolean };
    return {
      MLXM_HOST: flags.host,
      MLXM_NO_AUTOSTART: flags.autostart === undefined ? undefined : String(!flags.autostart),
    };
  }

  /** A client with no daemon check (for commands that manage the daemon itself). */
  protected rawClient(): MlxmClient {
    return new MlxmClient({ baseUrl: this.settings.baseUrl, headers: cliTraceHeaders, apiKey: cliCredential(this.settings) });
  }

  /** A client to a daemon that is ready, started in the background if needed and allowed. */
  protected async client(): Promise<MlxmClient> {
    const credential = cliCredential(this.settings);
    const client = this.rawClient();
    await ensureDaemon(this.settings, client, {
      autostart: !this.settings.noAutostart,
      traceparent: cliTraceHeaders().traceparent,
    });
    // A daemon started just now (by this command or one beside it) wrote its admin token only then: read it again,
    // or what needs it (keys, routes, imports) is refused on a first run.
    return credential === undefined ? this.rawClient() : client;
  }

  /** Human output only; with --json, oclif prints run()'s return value instead. */
  protected say(message: string): void {
    if (!this.jsonEnabled()) this.log(message);
  }

  protected override async catch(err: Error & { exitCode?: number; oclif?: { exit?: number } }): Promise<unknown> {
    // oclif's own exits (help, --version, this.exit) pass through untouched.
    if (err.oclif?.exit !== undefined && !(err instanceof MlxmError)) {
      if (err.oclif.exit === 0 || err.message.startsWith("EEXIT")) throw err;
      // A flag or argument the parser refused is a usage error whatever exit oclif chose (it gives 1 for a value not
      // among a flag's options or a flag given twice, 2 for the rest); parse errors are the ones that carry `parse`.
      const exit = "parse" in err ? ExitCode.USAGE : err.oclif.exit;
      traceCommandFailure("usage_error", err.message, exit);
      if (this.jsonEnabled()) this.printJsonError("usage_error", err.message);
      else this.logToStderr(`Error: ${err.message}`);
      this.exit(exit);
    }
    const described = describeError(err, { apiKeySet: Boolean(this.settings?.apiKey) });
    const { code, hint } = described;
    const exit = this.exitCodeFor(described.exit);
    traceCommandFailure(code, err.message, exit);
    if (this.jsonEnabled()) this.printJsonError(code, err.message, err instanceof MlxmError ? err.details : undefined);
    else this.logToStderr(`Error: ${err.message}${hint ? `\n${hint}` : ""}`);
    this.exit(exit);
  }

  /** The exit code a failure ends the command with; a command whose caller reads codes differently overrides it. */
  protected exitCodeFor(exit: number): number {
    return exit;
  }

  private printJsonError(code: string, message: string, details?: Record<string, unknown>): void {
    this.logJson({ error: { code, message, ...(details ? { details } : {}) } });
  }
}

/** Whether the daemon the CLI talks to runs on this machine (a credential sent to it stays here). */
function daemonIsLocal(settings: MlxmConfig): boolean {
  return isLoopbackHost(settings.host) || settings.host === "0.0.0.0" || settings.host === "::";
}

/**
 * The CLI's HF_TOKEN, for a pull or a search the daemon runs: sent only to a daemon on this machine (the CLI speaks
 * plain HTTP, and a token must not cross a network in the clear). A daemon elsewhere uses its own HF_TOKEN.
 */
export function hubTokenForDaemon(settings: MlxmConfig): string | undefined {
  return daemonIsLocal(settings) ? settings.hub.token : undefined;
}

/**
 * What the CLI authenticates with: MLXM_API_KEY when set, else, for a daemon on this machine, the admin token the
 * daemon wrote in MLXM_HOME. The admin token never goes to another host.
 */
export function cliCredential(settings: MlxmConfig): string | undefined {
  if (settings.apiKey) return settings.apiKey;
  return daemonIsLocal(settings) ? readAdminToken(settings.home) : undefined;
}

/** The exit code, stable error code and a suggestion for any error a command can end with. */
export function describeError(err: unknown, context: { apiKeySet?: boolean } = {}): { code: string; exit: number; hint?: string } {
  if (err instanceof DaemonUnreachableError) {
    return { code: err.code, exit: ExitCode.DAEMON_UNREACHABLE, hint: "Start it with `mlxm serve` or `mlxm daemon start`." };
  }
  if (err instanceof InterruptedError) return { code: err.code, exit: ExitCode.INTERRUPTED };
  if (err instanceof DaemonStartError) return { code: err.code, exit: ExitCode.DAEMON_UNREACHABLE };
  if (err instanceof AlreadyRunningError) return { code: err.code, exit: ExitCode.ALREADY_RUNNING };
  if (err instanceof NotFoundError) return { code: err.code, exit: ExitCode.NOT_FOUND };
  // The Hugging Face Hub refused a pull (gated, private, bad HF_TOKEN): its message says what to do; not exit 6.
  if (err instanceof UnauthorizedError && err.details?.refused_by === "hub") return { code: err.code, exit: ExitCode.FAILURE };
  if (err instanceof UnauthorizedError) {
    const hint = context.apiKeySet
      ? "The key in MLXM_API_KEY was refused: it is wrong or revoked, or this needs the daemon's admin token (run the command on the daemon's machine without MLXM_API_KEY)."
      : "Set MLXM_API_KEY to a key from `mlxm key create` (run on the daemon's machine).";
    return { code: err.code, exit: ExitCode.UNAUTHORIZED, hint };
  }
  // A bad request is the caller's mistake whether the daemon or the CLI noticed it (e.g. an unreadable preset file).
  if (err instanceof MlxmError && isBadRequestCode(err.code)) {
    return { code: err.code, exit: ExitCode.USAGE };
  }
  if (err instanceof MlxmError) return { code: err.code, exit: ExitCode.FAILURE };
  if (err instanceof ConfigError) return { code: err.code, exit: ExitCode.USAGE };
  // Like any setting with a value that cannot work: retrying will not help, changing MLXM_HOME will.
  if (err instanceof HomeError) return { code: err.code, exit: ExitCode.USAGE };
  const code = (err as { code?: unknown }).code;
  if (code === "already_running") return { code, exit: ExitCode.ALREADY_RUNNING };
  return { code: typeof code === "string" ? code : "failure", exit: ExitCode.FAILURE };
}
