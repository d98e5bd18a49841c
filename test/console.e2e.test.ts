/**
 * Issue 18, the web console in a real browser: headless Chromium (Debian /usr/bin/chromium, driven
 * by playwright-core) against a real control plane process (MariaDB olelo_test_e2e_console, role
 * tokens, --hold, the console built by Vite into a temp dir), two real data planes (labels
 * zone=eu / zone=us, dialog + acc spooling CDRs to the control plane) and sipp.
 *
 * Log in (a wrong token is refused), add a dispatcher destination and push it, see the new version
 * on both nodes in the fleet view; a bad row shows the server's error at the field; a canary push
 * reaches only the eu node and is rolled back from the console; a dry run; end a live sipp call
 * from the live view and find its CDR; the audit trail; a read-only token sees no write controls
 * and is refused a write; a cookie request without the CSRF header is refused. Screenshots of
 * every page go to docs/console/*.png (README "Web console") when OLELO_SCREENSHOTS=1, else to the
 * test's temporary directory, so a plain `npm test` leaves the working tree clean.
 *
 * Ports: a block of 40 from test/kit/ports.ts (freePortBlock).
 */
import type mysql from "mysql2/promise";
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { chromium, type Browser, type Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  ROOT,
  dropE2eDatabase,
  freshE2eDatabase,
  jsonRpc,
  spawnTsx,
  startDataPlaneProcess,
  stopAllProcesses,
  waitForPort,
  waitUntil,
  type DataPlaneProcess,
  type TestProcess,
} from "./helpers/processes.js";
import { runSipp, startSippServer, type SippServer } from "./helpers/sipp.js";
import { freePortBlock } from "./kit/ports.js";

const BASE = await freePortBlock(40);
const DB = "olelo_test_e2e_console";
const API = BASE + 1;
const GRPC = BASE + 2;
const UAS = BASE + 20;
const ADMIN = "admin-token-0123456789abcdef";
const VIEWER = "viewer-token-0123456789abcdef";
const URL0 = `http://127.0.0.1:${API}`;
const dir = mkdtempSync(join(tmpdir(), "olelo-e2e-console-"));
const SHOTS = process.env.OLELO_SCREENSHOTS === "1" ? join(ROOT, "docs/console") : join(dir, "shots");

let admin: mysql.Connection;
let cp: TestProcess;
let dps: DataPlaneProcess[] = [];
let uas: SippServer;
let browser: Browser;
let page: Page;

/** A management call with the admin token (the test's own view, beside the browser's). */
async function call<T = any>(method: string, params: unknown = {}): Promise<T> {
  const r = await fetch(`${URL0}/RPC`, { method: "POST", headers: { "content-type": "application/json", authorization: `Bearer ${ADMIN}` }, body: JSON.stringify({ jsonrpc: "2.0", id: 1, method, params }) });
  const j = (await r.json()) as { result?: T; error?: { message: string } };
  if (j.error) throw new Error(`${method}: ${j.error.message}`);
  return j.result as T;
}
const served = async (kind: string) => (await call<{ kinds: Array<{ kind: string; version: string }> }>("status")).kinds.find((k) => k.kind === kind)!.version;
const shot = (name: string) => page.screenshot({ path: join(SHOTS, `${name}.png`), fullPage: true });
const go = async (title: string) => {
  await page.getByRole("link", { name: title, exact: true }).click();
  await page.getByRole("heading", { level: 1, name: title }).waitFor();
};
const fleetVersion = (node: string) => page.getByTestId(`ver-${node}-dispatcher`).getAttribute("data-version");

beforeAll(async () => {
  mkdirSync(SHOTS, { recursive: true });
  const ui = join(dir, "ui");
  // the console is built while MariaDB, sipp and the control plane start
  const built = promisify(execFile)(process.execPath, [join(ROOT, "node_modules/vite/bin/vite.js"), "build", "--config", join(ROOT, "ui/vite.config.ts"), "--outDir", ui, "--emptyOutDir"], { cwd: ROOT });
  const tokens = join(dir, "tokens.json");
  writeFileSync(tokens, JSON.stringify({ [ADMIN]: { role: "admin", name: "alice" }, [VIEWER]: { role: "read-only", name: "viewer" } }));
  [admin, uas] = await Promise.all([freshE2eDatabase(DB), startSippServer({ scenario: "uas_rr.xml", port: UAS })]);
  cp = spawnTsx(
    `control-plane :${API}`,
    "control-plane/main.ts",
    ["--db-url", `mysql://root@127.0.0.1:3306/${DB}`, "--api", `127.0.0.1:${API}`, "--grpc", `127.0.0.1:${GRPC}`, "--poll-ms", "0", "--no-cdc", "--push-insecure-loopback", "--hold", "--api-tokens", tokens, "--ui-dir", ui],
    { OLELO_LOG_FORMAT: "json", OLELO_LOG_LEVEL: "info" },
  );
  await waitForPort(API, "127.0.0.1", 60_000, [cp]);
  await waitUntil("control plane status", async () => (await call("status").catch(() => null)) !== null, 20_000, [cp]);
  const launched = chromium.launch({ executablePath: "/usr/bin/chromium", headless: true, args: ["--no-sandbox", "--disable-gpu"] });
  dps = await Promise.all(
    (["eu", "us"] as const).map((zone, i) =>
      startDataPlaneProcess({
        node: `dp-${zone}`,
        sipPort: BASE + 10 + 2 * i,
        controlPort: BASE + 11 + 2 * i,
        controlPlane: `127.0.0.1:${GRPC}`,
        controlPlaneExtra: { labels: { zone }, statsIntervalMs: 500 },
        settings: { dispatcherSet: 1 },
        modules: {
          dispatcher: { ping_interval: 0 },
          dialog: { default_timeout: 60, send_bye: 1 },
          acc: { cdr_enable: 1, cdr_log_enable: 0, cdr_push_url: `${URL0}/RPC`, cdr_push_token: ADMIN, cdr_push_retry: 100, cdr_push_retry_max: 500 },
        },
      }),
    ),
  );
  await waitUntil("both nodes connected", async () => (await call<Array<{ connected: boolean }>>("nodes")).filter((n) => n.connected).length === 2, 15_000, [cp, ...dps]);
  await built;
  browser = await launched;
  page = await (await browser.newContext({ viewport: { width: 1366, height: 800 } })).newPage();
  page.on("dialog", (d) => void d.accept());
}, 120_000);

afterAll(async () => {
  await browser?.close();
  await uas?.stop();
  await stopAllProcesses();
  await dropE2eDatabase(admin, DB);
  await admin?.end();
}, 40_000);

describe("web console in headless Chromium (control plane, MariaDB, two data planes, sipp)", () => {
  it("logs in with the token (a wrong one is refused); session cookie HttpOnly + SameSite=Strict; a cookie call without the CSRF header is refused", async () => {
    await page.goto(`${URL0}/ui/`);
    await page.getByLabel("Management API token").fill("wrong-token-0123456789");
    await page.getByRole("button", { name: "Log in" }).click();
    await expect.poll(() => page.getByRole("alert").textContent()).toContain("unauthorized");
    await shot("login");
    await page.getByLabel("Management API token").fill(ADMIN);
    await page.getByRole("button", { name: "Log in" }).click();
    await expect.poll(() => page.getByTestId("who").textContent()).toBe("alice (admin)");
    const [cookie] = await page.context().cookies();
    expect(cookie).toMatchObject({ name: "olelo_session", httpOnly: true, sameSite: "Strict" });
    const statusOf = (headers: Record<string, string>) =>
      page.evaluate(async (h) => (await fetch("/RPC", { method: "POST", headers: { "content-type": "application/json", ...h }, body: '{"jsonrpc":"2.0","id":1,"method":"status"}' })).status, headers);
    expect(await statusOf({})).toBe(403);
    expect(await statusOf({ "x-olelo-csrf": "forged" })).toBe(403);
  });

  it("adds a dispatcher destination, pushes it from the pending view, and the fleet view shows the new version on both nodes", async () => {
    const before = await served("dispatcher");
    await go("Tables");
    await page.getByRole("button", { name: "Add row" }).click();
    await page.getByLabel("setid", { exact: true }).fill("1");
    await page.getByLabel("destination", { exact: true }).fill(`sip:127.0.0.1:${UAS}`);
    await page.getByLabel("description", { exact: true }).fill("media-1");
    await page.getByRole("button", { name: "Add", exact: true }).click();
    await expect.poll(() => page.getByRole("status").textContent()).toMatch(/^added dispatcher 1/);
    await page.getByRole("row", { name: /media-1/ }).waitFor();
    await shot("tables");
    await go("Pending & push");
    await page.locator('[data-kind="dispatcher"]').getByText(`sip:127.0.0.1:${UAS}`).waitFor();
    await shot("pending");
    await page.getByRole("button", { name: "Push to every node" }).click();
    await expect.poll(() => page.getByRole("status").textContent()).toContain("push: pushed dispatcher");
    const v1 = await served("dispatcher");
    expect(v1).not.toBe(before);
    await go("Fleet");
    await expect.poll(() => fleetVersion("dp-eu"), { timeout: 10_000 }).toBe(v1);
    await expect.poll(() => fleetVersion("dp-us"), { timeout: 10_000 }).toBe(v1);
    expect(await page.getByTestId("conn-dp-eu").textContent()).toMatch(/^connected/);
    expect(await Promise.all(dps.map((d) => d.version("dispatcher")))).toEqual([v1, v1]);
    await shot("fleet");
  });

  it("a bad row shows the server's error at the field it names", async () => {
    await go("Tables");
    await page.getByRole("button", { name: "Add row" }).click();
    await page.getByLabel("setid", { exact: true }).fill("abc");
    await page.getByLabel("destination", { exact: true }).fill("sip:127.0.0.1:5060");
    await page.getByRole("button", { name: "Add", exact: true }).click();
    const setidError = page.locator('.field-error[data-field="setid"]');
    await expect.poll(() => setidError.textContent()).toMatch(/setid/);
    expect(await page.getByLabel("setid", { exact: true }).getAttribute("aria-invalid")).toBe("true");
    // a row the compile refuses (422): the reason goes to the column it names
    await page.getByLabel("setid", { exact: true }).fill("1");
    await page.getByLabel("destination", { exact: true }).fill(`sip:127.0.0.1:${UAS}`);
    await page.getByRole("button", { name: "Add", exact: true }).click();
    await expect.poll(() => page.locator('.field-error[data-field="destination"]').textContent()).toMatch(/already in set 1/);
    await shot("tables-error");
    await page.getByRole("button", { name: "Cancel" }).click();
    expect((await call<{ total: number }>("dispatcher.list", {})).total).toBe(1);
  });

  it("pushes a canary to zone=eu and rolls it back from the console", async () => {
    const v1 = await served("dispatcher");
    await go("Tables");
    await page.getByRole("button", { name: "Edit dispatcher 1" }).click();
    await page.getByLabel("description", { exact: true }).fill("media-1 canary");
    await page.getByRole("button", { name: "Save" }).click();
    await expect.poll(() => page.getByRole("status").textContent()).toMatch(/^updated dispatcher 1/);
    await go("Pending & push");
    await page.locator('[data-kind="dispatcher"]').getByText("description media-1 → media-1 canary").waitFor();
    expect(await page.locator('[data-kind="subscriber"]').count()).toBe(0);
    await page.getByLabel("Canary label (label=value)").fill("zone eu");
    await page.getByRole("button", { name: "Push as canary" }).click();
    await expect.poll(() => page.locator('.field-error[data-field="canary"]').textContent()).toMatch(/label=value/);
    await page.getByLabel("Canary label (label=value)").fill("zone=eu");
    await page.getByLabel("Soak ms").fill("600000");
    await page.getByRole("button", { name: "Push as canary" }).click();
    await page.getByTestId("canary-current").getByText("soaking").waitFor();
    const v2 = await served("dispatcher");
    expect(v2).not.toBe(v1);
    await go("Fleet");
    await expect.poll(() => fleetVersion("dp-eu"), { timeout: 10_000 }).toBe(v2);
    expect(await fleetVersion("dp-us")).toBe(v1);
    expect(await page.getByTestId("canary-dp-eu").textContent()).toBe("canary");
    expect(await page.getByTestId("canary-dp-us").textContent()).toBe("rest");
    await shot("fleet-canary");
    await go("Pending & push");
    await page.getByRole("button", { name: "Roll back canary" }).click();
    await page.getByTestId("canary-recent").getByText("rolled-back").first().waitFor();
    await shot("pending-canary-rolled-back");
    await go("Fleet");
    await expect.poll(() => fleetVersion("dp-eu"), { timeout: 10_000 }).toBe(v1);
    expect(await Promise.all(dps.map((d) => d.version("dispatcher")))).toEqual([v1, v1]);
  });

  it("a dry run shows where a number routes now and after the pending change", async () => {
    await go("Dry run");
    await page.getByLabel("Number or R-URI (several: separated by spaces)").fill("4930123");
    await page.getByRole("button", { name: "Run" }).click();
    await expect.poll(() => page.getByTestId("now-dispatcher").textContent()).toContain(`set 1: sip:127.0.0.1:${UAS}`);
    expect(await page.getByTestId("after-dispatcher").textContent()).toContain(`set 1: sip:127.0.0.1:${UAS}`);
    await shot("dryrun");
  });

  it("ends a live sipp call from the live view, and its CDR is found by call-id", async () => {
    const sipp = runSipp({ scenario: "dlg_uac_wait_bye.xml", port: BASE + 30, remote: `127.0.0.1:${dps[1]!.sipPort}`, calls: 1, rate: 1, service: "bob", timeoutS: 30 });
    await go("Live state");
    await page.getByLabel("Data plane").selectOption("dp-us");
    const row = page.locator("tr[data-callid]").first();
    await row.waitFor({ timeout: 15_000 }).catch(async (e: unknown) => {
      // say what the node had and what sipp saw, not only that no row appeared
      const dlgs = await jsonRpc(dps[1]!.rpcUrl, "dlg.list").catch((x: unknown) => String(x));
      const r = await Promise.race([sipp, new Promise((res) => setTimeout(() => res("sipp still running"), 2000))]);
      throw new Error(`no live call row: ${String(e)}; dlg.list on dp-us: ${JSON.stringify(dlgs).slice(0, 600)}; sipp: ${JSON.stringify(r).slice(0, 600)}`);
    });
    const callId = (await row.getAttribute("data-callid"))!;
    await page.getByRole("row", { name: /Dispatcher|sip:127/ }).first().waitFor();
    await shot("live");
    await page.getByRole("button", { name: `End call ${callId}` }).click();
    const r = await sipp;
    expect([r.successful, r.failed], r.errors || r.stderr).toEqual([1, 0]);
    await page.getByTestId("no-calls").waitFor();
    await go("CDRs");
    await page.getByLabel("Call-ID").fill(callId);
    await waitUntil("the CDR in the console", async () => {
      await page.getByRole("button", { name: "Search" }).click();
      return (await page.locator(`tr[data-callid="${callId}"]`).count()) === 1;
    }, 15_000, [cp, ...dps]);
    expect(await page.locator(`tr[data-callid="${callId}"]`).textContent()).toMatch(/dp-us.*ANSWERED.*rpc/);
    const [download] = await Promise.all([page.waitForEvent("download"), page.getByRole("button", { name: "Export CSV" }).click()]);
    const csv = readFileSync((await download.path())!, "utf8").trimEnd().split("\r\n");
    expect(csv).toHaveLength(2);
    expect(csv[0]).toMatch(/^seq,cdr_id,call_id,/);
    expect(csv[1]).toContain(callId);
    await shot("cdrs");
  });

  it("the audit trail shows who changed what, filterable by actor", async () => {
    await go("Audit");
    await page.getByLabel("Actor").fill("alice");
    await page.getByLabel("Table").fill("dispatcher");
    await page.getByRole("button", { name: "Filter" }).click();
    await page.getByRole("row", { name: /alice.*update.*dispatcher.*media-1 canary/ }).waitFor();
    expect(await page.getByRole("row", { name: /alice.*create.*dispatcher/ }).count()).toBe(1);
    await shot("audit");
  });

  it("a read-only token sees no write controls and is refused a write", async () => {
    const ctx = await browser.newContext({ viewport: { width: 1366, height: 800 } });
    const ro = await ctx.newPage();
    await ro.goto(`${URL0}/ui/#tables`);
    await ro.getByLabel("Management API token").fill(VIEWER);
    await ro.getByRole("button", { name: "Log in" }).click();
    await expect.poll(() => ro.getByTestId("who").textContent()).toBe("viewer (read-only)");
    await ro.getByRole("row", { name: /media-1/ }).waitFor();
    expect(await ro.getByRole("button", { name: "Add row" }).count()).toBe(0);
    expect(await ro.getByRole("button", { name: /^Edit / }).count()).toBe(0);
    await ro.getByRole("link", { name: "Pending & push" }).click();
    await ro.getByRole("heading", { name: "Canary" }).waitFor();
    expect(await ro.getByRole("button", { name: "Push to every node" }).count()).toBe(0);
    const denied = await ro.evaluate(async () => {
      const s = (await (await fetch("/ui/session")).json()) as { csrf: string };
      const r = await fetch("/RPC", { method: "POST", headers: { "content-type": "application/json", "x-olelo-csrf": s.csrf }, body: '{"jsonrpc":"2.0","id":1,"method":"node.rpc","params":{"node":"dp-us","method":"dlg.end_dlg","params":[1,1]}}' });
      return { status: r.status, body: await r.text() };
    });
    expect(denied.status).toBe(403);
    expect(denied.body).toContain("needs role operator");
    await ctx.close();
  });
});
