import { expect } from "chai";
import { startTestDaemon, type TestDaemon } from "../helpers/daemon.js";

describe("/metrics", () => {
  let d: TestDaemon;
  before(async () => (d = await startTestDaemon()));
  after(async () => d.stop());

  it("counts requests by matched route template, never by raw path", async () => {
    await fetch(`${d.baseUrl}/api/tags`);
    await fetch(`${d.baseUrl}/api/traces/0123456789abcdef`);
    await fetch(`${d.baseUrl}/api/no/such/path/12345`);
    const text = await (await fetch(`${d.baseUrl}/metrics`)).text();
    expect(text).to.match(/mlxm_http_requests_total\{method="GET",route="\/api\/tags",status="200"\} 1/);
    expect(text).to.match(/mlxm_http_requests_total\{method="GET",route="\/api\/traces\/:id",status="404"\} 1/);
    expect(text).to.match(/route="unmatched",status="404"/);
    expect(text).not.to.contain("0123456789abcdef");
    expect(text).not.to.contain("12345");
    expect(text).to.contain("mlxm_http_request_duration_seconds_bucket");
    expect(text).to.contain("gen_ai_server_time_to_first_token_seconds");
  });
});
