// The gridmas console against a running local grid, in headless Chromium driven by
// playwright-core: a control-plane store (etcd 3.4, or $GRID_TEST_ETCD_BINARY), one gridmas
// replica running real etcd members, and a 1-member KVCluster with spec.backup into a
// directory bucket.
//
//   node console_grid_test.js GRIDMAS ARTIFACT_DIR
//
// Loads the console, sees the cluster in Run with its member, takes a backup through the page
// (Back up now, confirmation) and sees it listed without reloading, sees the member's applied
// index and lag once an inspection ran, requests a restore of that backup through the page
// (the PUT's spec.restoreFrom) and sees the Restore operation followed, and writes
// console-grid.png into ARTIFACT_DIR. Fails on any console error or uncaught exception of the
// page (a missing inspection report, 404, is expected). Every process it starts is killed at
// the end, also on failure. $CHROMIUM overrides /usr/bin/chromium.
"use strict";

const { spawn, execFileSync } = require("child_process");
const fs = require("fs");
const http = require("http");
const os = require("os");
const path = require("path");
const readline = require("readline");

const DEADLINE_MS = 20000;       // for each awaited condition
const RUN_DEADLINE_MS = 90000;   // the new cluster reaching Run
const BROWSER = process.env.CHROMIUM || "/usr/bin/chromium";
const VERSION = "3.4.23";

function loadPlaywright() {
  try {
    return require("playwright-core");
  } catch (_) {
    const root = execFileSync("npm", ["root", "-g"], { encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] }).trim();
    return require(path.join(root, "playwright-core"));
  }
}

function check(ok, message) {
  if (!ok) throw new Error(message);
}

function etcdBinary() {
  if (process.env.GRID_TEST_ETCD_BINARY) return process.env.GRID_TEST_ETCD_BINARY;
  for (const dir of (process.env.PATH || "/usr/bin").split(":")) {
    const candidate = path.join(dir, "etcd");
    if (fs.existsSync(candidate)) return candidate;
  }
  throw new Error("no etcd binary (set GRID_TEST_ETCD_BINARY)");
}

async function freePort() {
  const s = http.createServer();
  await new Promise((resolve) => s.listen(0, "127.0.0.1", resolve));
  const port = s.address().port;
  await new Promise((resolve) => s.close(resolve));
  return port;
}

async function poll(what, pred, deadline_ms = DEADLINE_MS) {
  const end = Date.now() + deadline_ms;
  for (;;) {
    try {
      if (await pred()) return;
    } catch (_) { /* not yet */ }
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

class Processes {
  constructor(dir) {
    this.dir = dir;
    this.procs = [];
  }
  spawn(argv, log) {
    const out = fs.openSync(path.join(this.dir, log), "w");
    const p = spawn(argv[0], argv.slice(1), { stdio: ["ignore", log === "gridmas.log" ? "pipe" : out, out] });
    this.procs.push(p);
    return p;
  }
  log(name) {
    try {
      return fs.readFileSync(path.join(this.dir, name), "utf8").slice(-3000);
    } catch (_) {
      return "";
    }
  }
  // gridmas first (SIGTERM: it stops its instances), then whatever is left, by pid.
  async stopAll() {
    const exited = (p) => new Promise((resolve) => {
      if (p.exitCode !== null || p.signalCode !== null) return resolve();
      const timer = setTimeout(() => { p.kill("SIGKILL"); }, 20000);
      p.on("exit", () => { clearTimeout(timer); resolve(); });
    });
    const [store, mas] = this.procs;
    if (mas) {
      mas.kill("SIGTERM");
      await exited(mas);
    }
    const instances = path.join(this.dir, "root", "instances");
    for (const name of fs.existsSync(instances) ? fs.readdirSync(instances) : []) {
      try {
        const pid = JSON.parse(fs.readFileSync(path.join(instances, name, "instance.json"), "utf8")).pid || 0;
        if (pid > 0) process.kill(-pid, "SIGKILL");
      } catch (_) { /* gone */ }
    }
    if (store) {
      store.kill("SIGKILL");
      await exited(store);
    }
  }
}

async function readApiAddress(mas) {
  const lines = readline.createInterface({ input: mas.stdout });
  const first = await Promise.race([
    new Promise((resolve) => lines.once("line", resolve)),
    new Promise((resolve) => mas.once("exit", (code) => resolve(`gridmas exited ${code}`))),
    new Promise((resolve) => setTimeout(() => resolve("no line"), DEADLINE_MS)),
  ]);
  check(first.startsWith("api on "), `gridmas printed: ${first}`);
  return first.slice("api on ".length);
}

async function main() {
  const [gridmas, artifactDir] = process.argv.slice(2);
  check(gridmas && artifactDir, "usage: console_grid_test.js GRIDMAS ARTIFACT_DIR");
  check(fs.existsSync(BROWSER), `${BROWSER} is missing (Debian package chromium)`);
  const { chromium } = loadPlaywright();
  const etcd = etcdBinary();

  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "console-grid-"));
  const procs = new Processes(dir);
  let browser = null;
  let page = null;
  try {
    // ---- The grid: the control-plane store and one gridmas replica. ----
    const client = await freePort();
    const peer = await freePort();
    procs.spawn([etcd, "--name", "m0", "--data-dir", path.join(dir, "etcd"),
                 "--listen-client-urls", `http://127.0.0.1:${client}`,
                 "--advertise-client-urls", `http://127.0.0.1:${client}`,
                 "--listen-peer-urls", `http://127.0.0.1:${peer}`,
                 "--initial-advertise-peer-urls", `http://127.0.0.1:${peer}`,
                 "--initial-cluster", `m0=http://127.0.0.1:${peer}`], "etcd.log");
    const mas = procs.spawn([gridmas, "--endpoints", `127.0.0.1:${client}`, "--listen", "127.0.0.1:0",
                             "--replica", "console", "--root", path.join(dir, "root"),
                             "--binary", `etcd@${VERSION}=${etcd}`, "--stop-instances-on-exit"], "gridmas.log");
    const base = `http://${await readApiAddress(mas)}`;
    const api = `${base}/apis/grid.dev/v1`;
    await poll("gridmas /readyz", async () => (await fetch(`${base}/readyz`)).ok);

    async function call(method, url, body) {
      const res = await fetch(url, {
        method, body: body === undefined ? undefined : JSON.stringify(body),
        headers: body === undefined ? {} : { "Content-Type": "application/json" } });
      const json = await res.json();
      check(res.ok, `${method} ${url}: ${res.status} ${JSON.stringify(json)}`);
      return json;
    }

    const bucket = path.join(dir, "bucket");
    await call("POST", `${api}/kvclusters`, {
      apiVersion: "grid.dev/v1", kind: "KVCluster", metadata: { name: "main" },
      spec: { engine: "etcd", version: VERSION, members: 1, backup: { bucket } } });

    // ---- The page. ----
    browser = await chromium.launch({ executablePath: BROWSER, args: ["--no-sandbox"], headless: true });
    page = await browser.newPage({ viewport: { width: 1280, height: 1000 } });
    const pageErrors = [];
    const expectedMissing = (url, text) => /\/inspection$/.test(url) && / 404/.test(text);
    page.on("console", (m) => {
      if (m.type() !== "error" || expectedMissing(m.location().url || "", m.text())) return;
      pageErrors.push(`console: ${m.text()} (${m.location().url || "no url"})`);
    });
    page.on("pageerror", (e) => pageErrors.push(`exception: ${e.message}`));
    page.on("response", (r) => {
      if (r.status() >= 400 && !expectedMissing(r.url(), ` ${r.status()}`)) {
        pageErrors.push(`response: ${r.status()} ${r.request().method()} ${r.url()}`);
      }
    });
    page.setDefaultTimeout(DEADLINE_MS);

    await page.goto(`${base}/console`);
    const card = page.locator("article.kvcluster[data-name='main']");
    await card.locator(".phase[data-phase='Run']").waitFor({ timeout: RUN_DEADLINE_MS });
    const member = card.locator("table.members tbody tr");
    await member.filter({ hasText: "healthy" }).first().waitFor();
    check(await member.count() === 1, "main shows its one member");
    await card.locator(".backups", { hasText: "no backups yet" }).waitFor();

    // ---- Back up now: confirmation, then the backup appears in the list. ----
    await card.locator("button.backup-now").click();
    const dialog = page.locator("#action-dialog");
    await dialog.waitFor({ state: "visible" });
    const summary = await page.locator("#action-summary").innerText();
    check(summary.includes(`Take a backup of KVCluster main now`) && summary.includes(bucket),
          `backup confirmation: ${summary}`);
    await page.click("#action-confirm");
    await dialog.waitFor({ state: "hidden", timeout: 60000 });
    const listed = (await call("GET", `${api}/kvclusters/main/backups`)).items;
    check(listed.length === 1, `one backup listed: ${JSON.stringify(listed)}`);
    const backup = listed[0].name;
    await card.locator("table.backups tbody tr", { hasText: backup }).waitFor();
    await page.locator("#activity p.action", { hasText: `backup ${backup} created at revision` }).waitFor();

    // ---- The member's applied index and lag, once an inspection ran. ----
    await call("POST", `${api}/kvclusters/main/inspect`);
    await card.locator(".inspection", { hasText: "inspection at" }).waitFor();
    await poll("the member's applied index", async () => {
      const cells = await member.first().locator("td").allInnerTexts();
      return /^[0-9]+$/.test(cells[5]) && /^[0-9]+$/.test(cells[6]);
    });

    const screenshot = path.join(artifactDir, "console-grid.png");
    fs.mkdirSync(artifactDir, { recursive: true });
    await page.screenshot({ path: screenshot, fullPage: true });
    console.log(`screenshot: ${screenshot}`);

    // ---- Restore that backup: confirmation, spec.restoreFrom, the operation followed. ----
    await card.locator(`button.restore[data-name='${backup}']`).click();
    await dialog.waitFor({ state: "visible" });
    const restoreText = await page.locator("#action-summary").innerText();
    check(restoreText.includes(`Restore KVCluster main from backup ${backup}`), `restore confirmation: ${restoreText}`);
    await page.click("#action-confirm");
    await dialog.waitFor({ state: "hidden" });
    const stored = await call("GET", `${api}/kvclusters/main`);
    check(stored.spec.restoreFrom && stored.spec.restoreFrom.backup === backup &&
          !Number.isNaN(Date.parse(stored.spec.restoreFrom.requested)),
          `spec.restoreFrom: ${JSON.stringify(stored.spec.restoreFrom)}`);
    check(stored.spec.backup.bucket === bucket && stored.spec.members === 1, "the rest of the spec is kept");
    const restore = page.locator("#activity p.action",
                                 { hasText: `restore from ${backup} (generation ${stored.metadata.generation})` });
    await restore.waitFor();
    await restore.filter({ hasText: /operation Restore running|done: phase/ }).waitFor({ timeout: 60000 });

    check(pageErrors.length === 0, `the page reported errors:\n${pageErrors.join("\n")}`);
    console.log("PASS console_grid_test");
  } catch (e) {
    if (page) {
      const failed = path.join(artifactDir, "console-grid-failure.png");
      fs.mkdirSync(artifactDir, { recursive: true });
      await page.screenshot({ path: failed, fullPage: true }).catch(() => {});
      console.error(`failure screenshot: ${failed}`);
    }
    console.error(`gridmas log:\n${procs.log("gridmas.log")}`);
    throw e;
  } finally {
    if (browser) await browser.close().catch(() => {});
    await procs.stopAll();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((e) => {
  console.error(`FAIL: ${e.stack || e}`);
  process.exit(1);
});
