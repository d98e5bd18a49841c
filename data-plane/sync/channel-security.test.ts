import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { buildConfig, ConfigError } from "../core/config-file.js";
import { createChannelSecurity } from "./channel-security.js";

describe("controlPlane.tls and token in the data plane's configuration", () => {
  it("resolves the files against the config's folder and checks the combinations", () => {
    const cfg = buildConfig({ controlPlane: { url: "cp:8071", tls: { ca: "ca.pem", cert: "n.pem", key: "n.key" } } }, "/etc/olelo");
    expect(cfg.controlPlane!.tls).toEqual({ ca: "/etc/olelo/ca.pem", cert: "/etc/olelo/n.pem", key: "/etc/olelo/n.key", serverName: null });
    expect(cfg.controlPlane!.token).toBeNull();
    expect(buildConfig({ controlPlane: { url: "cp:8071", tls: { ca: "ca.pem", crl: "fleet.crl" } } }, "/etc/olelo").controlPlane!.tls).toMatchObject({ crl: "/etc/olelo/fleet.crl" });
    expect(() => buildConfig({ controlPlane: { url: "cp:8071", tls: { cert: "n.pem", key: "n.key" } } }, "/x")).toThrow(ConfigError);
    expect(() => buildConfig({ controlPlane: { url: "cp:8071", tls: { ca: "c", cert: "n.pem" } } }, "/x")).toThrow("'controlPlane.tls' needs both cert and key, or neither");
    expect(() => buildConfig({ controlPlane: { url: "cp:8071", tls: { ca: "c", crt: "n" } } }, "/x")).toThrow("unknown key 'controlPlane.tls.crt'");
    expect(() => buildConfig({ controlPlane: { url: "cp:8071", token: "t".repeat(20) } }, "/x")).toThrow("'controlPlane.token' needs 'controlPlane.tls' (a token is never sent in plaintext)");
    const dir = mkdtempSync(join(tmpdir(), "olelo-tokenfile-"));
    writeFileSync(join(dir, "token"), "abc".repeat(8) + "\n");
    const withFile = buildConfig({ controlPlane: { url: "cp:8071", tls: { ca: "ca.pem" }, tokenFile: "token" } }, dir);
    expect(withFile.controlPlane!.token).toBe("abc".repeat(8));
    expect(() => buildConfig({ controlPlane: { url: "cp:8071", tls: { ca: "ca.pem" }, tokenFile: "missing" } }, dir)).toThrow(`'controlPlane.tokenFile' ${join(dir, "missing")}: ENOENT`);
  });
  it("plaintext only to loopback; missing files name themselves", () => {
    expect(createChannelSecurity("127.0.0.1:8071", null, null).mode).toBe("insecure");
    expect(createChannelSecurity("localhost:8071", null, null).mode).toBe("insecure");
    expect(() => createChannelSecurity("10.0.0.5:8071", null, null)).toThrow("sync: plaintext to the control plane at 10.0.0.5:8071 is refused (not loopback): set controlPlane.tls");
    expect(() => createChannelSecurity("cp:8071", { ca: "/nonexistent/ca.pem" }, null)).toThrow("ca file /nonexistent/ca.pem: ENOENT");
  });
});
