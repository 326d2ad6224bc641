import { startTestDaemon } from "./helpers/daemon.js";
import { execSync } from "node:child_process";
const d = await startTestDaemon();
console.log(execSync(`curl -s -i -X DELETE ${d.baseUrl}/api/delete -H 'content-type: application/json' -d '{"model":"nope"}'`).toString());
console.log(execSync(`curl -s -i ${d.baseUrl}/v1/models/%ff`).toString());
await d.stop();
