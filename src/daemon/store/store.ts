/** The store: one database and one repo per table, opened and migrated together, closed last. */
import type { KyselyPlugin } from "kysely";
import { migrateToLatest, openDatabase, type Db } from "./database.js";
import { ApiKeysRepo } from "./repos/api-keys-repo.js";
import { ModelsRepo } from "./repos/models-repo.js";
import { PullsRepo } from "./repos/pulls-repo.js";
import { RequestsRepo } from "./repos/requests-repo.js";
import { RoutesRepo } from "./repos/routes-repo.js";
import { SettingsRepo } from "./repos/settings-repo.js";
import { SpansRepo } from "./repos/spans-repo.js";
import { traceQuery } from "../../observability/kysely-tracing.js";

export class Store {
  readonly models: ModelsRepo;
  readonly pulls: PullsRepo;
  readonly routes: RoutesRepo;
  readonly apiKeys: ApiKeysRepo;
  readonly requests: RequestsRepo;
  readonly settings: SettingsRepo;
  readonly spans: SpansRepo;

  private constructor(readonly db: Db) {
    this.models = new ModelsRepo(db);
    this.pulls = new PullsRepo(db);
    this.routes = new RoutesRepo(db);
    this.apiKeys = new ApiKeysRepo(db);
    this.requests = new RequestsRepo(db);
    this.settings = new SettingsRepo(db);
    this.spans = new SpansRepo(db);
  }

  /** Open `file` (":memory:" for tests) and run pending migrations. */
  static async open(file: string, plugins: KyselyPlugin[] = []): Promise<Store> {
    const db = openDatabase({ file, plugins, log: traceQuery });
    try {
      await migrateToLatest(db);
    } catch (err) {
      await db.destroy();
      throw err;
    }
    return new Store(db);
  }

  async close(): Promise<void> {
    // Usage rows wait a moment to be written together; a stop must not lose them.
    await this.requests.flush().catch(() => {});
    await this.db.destroy();
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }
}
