/**
 * oclif loads commands from oclif.manifest.json when it exists, so a stale manifest silently runs old command
 * paths or flags. `npm run build` regenerates it; this fails when it no longer matches the compiled commands.
 */
import { expect } from "chai";
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

const root = fileURLToPath(new URL("../..", import.meta.url));

function commandFiles(dir: string, prefix: string[] = []): { id: string; file: string }[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    if (e.isDirectory()) return commandFiles(path.join(dir, e.name), [...prefix, e.name]);
    if (!e.name.endsWith(".js")) return [];
    return [{ id: [...prefix, e.name.replace(/\.js$/, "")].join(":"), file: path.join(dir, e.name) }];
  });
}

describe("oclif manifest", () => {
  it("matches the built commands and their flags", async function () {
    const distCommands = path.join(root, "dist", "commands");
    if (!fs.existsSync(distCommands)) this.skip();
    const manifest = JSON.parse(fs.readFileSync(path.join(root, "oclif.manifest.json"), "utf8")) as {
      version: string;
      commands: Record<string, { flags: Record<string, unknown>; args: Record<string, unknown> }>;
    };
    const pkg = JSON.parse(fs.readFileSync(path.join(root, "package.json"), "utf8")) as { version: string };
    expect(manifest.version).to.equal(pkg.version);
    const files = commandFiles(distCommands);
    expect(Object.keys(manifest.commands).sort()).to.deep.equal(files.map((f) => f.id).sort());
    for (const { id, file } of files) {
      const cls = (await import(pathToFileURL(file).href)).default as {
        flags?: Record<string, unknown>;
        baseFlags?: Record<string, unknown>;
        args?: Record<string, unknown>;
        enableJsonFlag?: boolean;
      };
      const flags = Object.keys({ ...cls.baseFlags, ...cls.flags, ...(cls.enableJsonFlag ? { json: 1 } : {}) }).sort();
      expect(Object.keys(manifest.commands[id]!.flags).sort(), `flags of ${id}`).to.deep.equal(flags);
      expect(Object.keys(manifest.commands[id]!.args).sort(), `args of ${id}`).to.deep.equal(Object.keys(cls.args ?? {}).sort());
    }
  });
});
