/**
 * 503 while the daemon is starting (no services yet) and while it drains for shutdown, in each protocol's shape,
 * with Retry-After, so clients back off and retry instead of failing for good.
 */
import { expect } from "chai";
import OpenAI from "openai";
import { MlxmClient } from "../../src/client/mlxm-client.js";
import { UnavailableError } from "../../src/client/errors.js";
import { startFakeApp, type FakeApp } from "../helpers/fake-models.js";

describe("daemon availability: 503 while starting and draining", () => {
  let app: FakeApp;
  let client: MlxmClient;
  let openai: OpenAI;
  before(async () => {
    app = await startFakeApp();
    client = new MlxmClient({ baseUrl: app.baseUrl });
    openai = new OpenAI({ baseURL: `${app.baseUrl}/v1`, apiKey: "unused", maxRetries: 0 });
  });
  after(async () => app.close());

  it("answers 503 starting with Retry-After until the services are up, then serves", async () => {
    app.setServices(undefined);
    const tags = await fetch(`${app.baseUrl}/api/tags`);
    expect(tags.status).to.equal(503);
    expect(tags.headers.get("retry-after")).to.equal("1");
    expect(await tags.json()).to.deep.equal({ error: "the daemon is starting; try again in a moment", code: "starting" });
    // Health answers while starting, so `daemon start` can tell "up but not ready" from "down".
    const health = await fetch(`${app.baseUrl}/api/health`);
    expect(health.status).to.equal(503);
    expect(((await health.json()) as { status: string }).status).to.equal("starting");
    try {
      await client.list();
      expect.fail("should throw");
    } catch (err) {
      expect(err).to.be.instanceOf(UnavailableError);
      expect((err as UnavailableError).code).to.equal("starting");
    }
    try {
      await openai.models.list();
      expect.fail("should throw");
    } catch (err) {
      expect(err).to.be.instanceOf(OpenAI.APIError);
      expect((err as InstanceType<typeof OpenAI.APIError>).status).to.equal(503);
      expect((err as InstanceType<typeof OpenAI.APIError>).error).to.deep.include({ type: "server_error", code: "service_unavailable" });
    }

    app.setServices(app.services);
    expect((await client.list()).models).to.deep.equal([]);
  });

  it("answers 503 unavailable and closes the connection while draining", async () => {
    app.setDraining();
    const tags = await fetch(`${app.baseUrl}/api/tags`);
    expect(tags.status).to.equal(503);
    expect(tags.headers.get("retry-after")).to.equal("1");
    expect(tags.headers.get("connection")).to.equal("close");
    expect(await tags.json()).to.deep.equal({ error: "the daemon is shutting down", code: "unavailable" });
    const models = await fetch(`${app.baseUrl}/v1/models`);
    expect(models.status).to.equal(503);
    expect(((await models.json()) as { error: { code: string } }).error.code).to.equal("service_unavailable");
    try {
      await client.ps();
      expect.fail("should throw");
    } catch (err) {
      expect(err).to.be.instanceOf(UnavailableError);
      expect((err as UnavailableError).code).to.equal("unavailable");
    }
  });
});
