// The gridmas console in a real browser: headless Chromium driven by playwright-core, against
// mas_console_harness (the API server with the console over its own etcd 3.4).
//
//   node console_browser_test.js HARNESS ARTIFACT_DIR
//
// Creates a KVCluster (with a standby) and a RouterFleet, writes their status as a controller
// would (members, mirror lag, fleet replicas whose admin port is a stand-in gridrouter admin
// server) and an inspection report, loads the console, checks what it shows (applied index
// and lag per member, mirror lag, routing table revision, tenants, cells and backend health),
// scales the cluster through the page (confirmation dialog, compare-and-swap PUT), follows the
// status changes live, survives a restart of the API server (the page reconnects), switches
// over to the standby through the page (the PUT's spec.standby.promote) and follows the
// promotion, checks that data is rendered as text, checks the per-kind object limit, and
// writes a screenshot into ARTIFACT_DIR. Fails on any console error or uncaught exception of
// the page (a missing inspection report, 404, is expected). $CHROMIUM overrides
// /usr/bin/chromium.
"use strict";

const { spawn, execFileSync } = require("child_process");
const fs = require("fs");
const http = require("http");
const path = require("path");
const readline = require("readline");

const DEADLINE_MS = 15000;  // for each awaited condition
const BROWSER = process.env.CHROMIUM || "/usr/bin/chromium";

function loadPlaywright() {
  try {
    return require("playwright-core");
  } catch (_) {
    // Installed globally (npm install -g): resolve it from npm's global root.
    const root = execFileSync("npm", ["root", "-g"], { encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] }).trim();
    return require(path.join(root, "playwright-core"));
  }
}

// The harness: "api on HOST:PORT" first, then one answer line per command.
class Harness {
  constructor(binary) {
    this.proc = spawn(binary, [], { stdio: ["pipe", "pipe", "inherit"] });
    this.lines = [];
    this.waiters = [];
    readline.createInterface({ input: this.proc.stdout }).on("line", (line) => {
      const w = this.waiters.shift();
      if (w) w(line); else this.lines.push(line);
    });
    this.proc.on("exit", (code) => {
      for (const w of this.waiters.splice(0)) w(`error harness exited ${code}`);
    });
  }
  next() {
    if (this.lines.length) return Promise.resolve(this.lines.shift());
    return withDeadline(new Promise((resolve) => this.waiters.push(resolve)), "a harness line");
  }
  async command(text) {
    this.proc.stdin.write(text + "\n");
    const answer = await this.next();
    if (!answer.startsWith("ok")) throw new Error(`harness: ${text.slice(0, 80)}: ${answer}`);
    return answer.slice(3);
  }
  stop() {
    this.proc.stdin.end();
    return new Promise((resolve) => {
      if (this.proc.exitCode !== null) return resolve();
      const timer = setTimeout(() => this.proc.kill("SIGKILL"), 10000);
      this.proc.on("exit", () => { clearTimeout(timer); resolve(); });
    });
  }
}

function withDeadline(promise, what) {
  let timer;
  const deadline = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out waiting for ${what}`)), DEADLINE_MS);
  });
  return Promise.race([promise, deadline]).finally(() => clearTimeout(timer));
}

function check(ok, message) {
  if (!ok) throw new Error(message);
}

// A stand-in for a gridrouter's admin port: /routes and /cells as gridrouter answers them.
function startAdmin() {
  const routes = { revision: 42, cells: 2, tenants: 7, backends: 3, source: "store", prefix: "/grid/routes/",
                   origin: "store", store_revision: 42, connected: true };
  const backend = (address, available, ejected) => ({ address, weight: 1, available, active_healthy: available,
                                                      ejected, ejected_remaining_ms: 0, times_ejected: 0,
                                                      connections: 0, pending_requests: 0 });
  const cells = { revision: 42, cells: [
    { name: "cell-a", health_check: "tcp", outlier_detection: true, connections: 0, pending_requests: 0,
      groups: [{ name: "blue", weight_percent: 100,
                 backends: [backend("127.0.0.1:2379", true, false), backend("127.0.0.1:2479", false, true)] }] },
    { name: "cell-b", health_check: "none", outlier_detection: false, connections: 0, pending_requests: 0,
      groups: [{ name: "main", weight_percent: 100, backends: [backend("127.0.0.1:2579", true, false)] }] }] };
  const server = http.createServer((req, res) => {
    const body = req.url === "/routes" ? routes : req.url === "/cells" ? cells : null;
    res.writeHead(body ? 200 : 404, { "Content-Type": "application/json" });
    res.end(JSON.stringify(body || {}) + "\n");
  });
  return new Promise((resolve) => server.listen(0, "127.0.0.1", () => resolve(server)));
}

// A loopback port nobody listens on.
async function deadPort() {
  const s = http.createServer();
  await new Promise((resolve) => s.listen(0, "127.0.0.1", resolve));
  const port = s.address().port;
  await new Promise((resolve) => s.close(resolve));
  return port;
}

async function main() {
  const [harnessBinary, artifactDir] = process.argv.slice(2);
  check(harnessBinary && artifactDir, "usage: console_browser_test.js HARNESS ARTIFACT_DIR");
  check(fs.existsSync(BROWSER), `${BROWSER} is missing (Debian package chromium)`);
  const { chromium } = loadPlaywright();

  const harness = new Harness(harnessBinary);
  let browser = null;
  let page = null;
  let admin = null;
  try {
    admin = await startAdmin();
    const dead = await deadPort();
    const first = await harness.next();
    check(first.startsWith("api on "), `harness: ${first}`);
    const base = `http://${first.slice("api on ".length)}`;
    const api = `${base}/apis/grid.dev/v1`;

    async function call(method, url, body) {
      const res = await fetch(url, {
        method, body: body === undefined ? undefined : JSON.stringify(body),
        headers: body === undefined ? {} : { "Content-Type": "application/json" } });
      const json = await res.json();
      check(res.ok, `${method} ${url}: ${res.status} ${JSON.stringify(json)}`);
      return json;
    }
    const setStatus = (kind, name, status) =>
      harness.command(`status ${kind} ${name} ${JSON.stringify(status)}`);

    // ---- The objects, with a status as the controllers would write it. ----
    const hostile = `<img src=x onerror="window.__hacked=1">`;
    await call("POST", `${api}/kvclusters`, {
      apiVersion: "grid.dev/v1", kind: "KVCluster", metadata: { name: "alpha" },
      spec: { engine: "etcd", version: "3.4.23", members: 3, placement: { zones: ["za", "zb", "zc"] },
              standby: { cluster: "alpha-dr", prefixes: ["/app/"] } } });
    const members = (n) => Array.from({ length: n }, (_, i) => ({
      name: `alpha-${i}`, id: `${i + 1}a`, healthy: true, version: "3.4.23",
      zone: ["za", "zb", "zc"][i % 3], clientURL: `http://127.0.0.1:${23790 + i}` }));
    const runStatus = (generation, n) => ({
      phase: "Run", observedGeneration: generation, members: members(n),
      conditions: [
        { type: "Available", status: "True", reason: "QuorumHealthy", message: hostile },
        { type: "LeaderPresent", status: "True", reason: "Leader", message: "leader alpha-1 (2a)" }],
      history: [{ name: "Create", result: "Succeeded", started: "2026-01-01T00:00:00Z",
                  finished: "2026-01-01T00:00:09Z", steps: [{ step: "start alpha-0", result: "ok" }] }],
      mirror: { standby: "alpha-dr", prefixes: ["/app/"], state: "Watching", appliedRevision: 97,
                primaryRevision: 100, lagRevisions: 3, lagSeconds: 0.5, fullCopies: 1, foreignWrites: 0,
                updated: "2026-01-01T00:00:10Z" } });
    await setStatus("KVCluster", "alpha", runStatus(1, 3));
    // The last inspection: raft index 125 at most, so alpha-0 (applied 120) lags by 5.
    const probe = (i, applied) => ({ name: `alpha-${i}`, endpoint: `127.0.0.1:${23790 + i}`, reachable: true,
                                     memberId: `${i + 1}a`, leaderId: "2a", raftIndex: 125, appliedIndex: applied,
                                     dbSizeBytes: 20480, dbSizeInUseBytes: 16384, revision: 60 });
    await harness.command(`report alpha ${JSON.stringify({
      cluster: "alpha", time: "2026-01-01T00:00:30Z", hashRevision: 60,
      members: [probe(0, 120), probe(1, 125), probe(2, 125)], alarms: [], conditions: [], events: [] })}`);
    await call("POST", `${api}/routerfleets`, {
      apiVersion: "grid.dev/v1", kind: "RouterFleet", metadata: { name: "edge" },
      spec: { replicas: 2, version: "local", routesPrefix: "/grid/routes/" } });
    await setStatus("RouterFleet", "edge", {
      phase: "Run", observedGeneration: 1,
      operation: { weights: { blue: 100, green: 0 }, log: [],
                   fleet: { activeColor: "blue", activeVersion: "local", greenPercent: 0, stepStartedMs: 0,
                            replicas: [{ color: "blue", index: 0, version: "local", port: 18000, adminPort: dead },
                                       { color: "blue", index: 1, version: "local", port: 18001,
                                         adminPort: admin.address().port }] } } });

    // ---- The page. ----
    browser = await chromium.launch({ executablePath: BROWSER, args: ["--no-sandbox"], headless: true });
    page = await browser.newPage({ viewport: { width: 1280, height: 1000 } });
    const pageErrors = [];
    // While the API server restarts, the browser reports the watch streams the stop cut off
    // (a chunked body ended early, or reset) and the refused connections of the page's
    // reconnect attempts; those network errors (and only those) are expected then.
    let restarting = false;
    // A cluster without an inspection report yet answers 404 there (shown as "no inspection
    // report yet").
    const expectedMissing = (url, text) => /\/inspection$/.test(url) && / 404/.test(text);
    page.on("console", (m) => {
      if (m.type() !== "error") return;
      if (expectedMissing(m.location().url || "", m.text())) return;
      if (restarting &&
          /net::ERR_(CONNECTION_REFUSED|INCOMPLETE_CHUNKED_ENCODING|CONNECTION_RESET|EMPTY_RESPONSE)/
              .test(m.text())) {
        return;
      }
      pageErrors.push(`console: ${m.text()} (${m.location().url || "no url"})`);
    });
    page.on("pageerror", (e) => pageErrors.push(`exception: ${e.message}`));
    page.on("response", (r) => {
      if (r.status() >= 400 && !expectedMissing(r.url(), ` ${r.status()}`)) pageErrors.push(`response: ${r.status()} ${r.request().method()} ${r.url()}`);
    });
    page.setDefaultTimeout(DEADLINE_MS);

    await page.goto(`${base}/`);
    await page.waitForURL(`${base}/console`);
    const card = page.locator("article.kvcluster[data-name='alpha']");
    await card.locator(".phase[data-phase='Run']").waitFor();
    check(await card.locator("table.members tbody tr").count() === 3, "alpha shows 3 members");
    const leaderRow = await card.locator("table.members tbody tr", { hasText: "alpha-1" }).innerText();
    check(/leader/.test(leaderRow) && /healthy/.test(leaderRow) && /3\.4\.23/.test(leaderRow) && /zb/.test(leaderRow),
          `alpha-1 row: ${leaderRow}`);
    check(/follower/.test(await card.locator("table.members tbody tr", { hasText: "alpha-0" }).innerText()),
          "alpha-0 is a follower");
    await page.locator("article.routerfleet[data-name='edge'] .active", { hasText: "active version local (blue)" }).waitFor();
    await page.locator("#conn-kvclusters[data-state='live']").waitFor();
    await page.locator("#conn-routerfleets[data-state='live']").waitFor();

    // Applied index and lag from the inspection report; the mirror's lag.
    await card.locator(".inspection", { hasText: "inspection at 2026-01-01T00:00:30Z, hash revision 60" }).waitFor();
    const cellsOf = async (member) => card.locator("table.members tbody tr", { hasText: member })
      .locator("td").allInnerTexts();
    const row0 = await cellsOf("alpha-0");
    check(row0[5] === "120" && row0[6] === "5", `alpha-0 applied index and lag: ${row0}`);
    const row1 = await cellsOf("alpha-1");
    check(row1[5] === "125" && row1[6] === "0", `alpha-1 applied index and lag: ${row1}`);
    await card.locator(".mirror h4", { hasText: "Mirror to alpha-dr: Watching, lag 3 revisions, 0.5 s" }).waitFor();
    await card.locator(".mirror dd[data-field='primaryRevision']", { hasText: "100" }).waitFor();

    // The fleet's routing table and cells, from the replica that answers (the first does not).
    const edge = page.locator("article.routerfleet[data-name='edge']");
    await edge.locator(".routes", { hasText: "routing table revision 42: 2 cells, 7 tenants, 3 backends" }).waitFor();
    check((await edge.locator(".routes").innerText()).includes(`from 127.0.0.1:${admin.address().port}`),
          "the routes came from the answering replica");
    check(await edge.locator("table.cells tbody tr").count() === 3, "three backends shown");
    const ejected = await edge.locator("table.cells tbody tr", { hasText: "127.0.0.1:2479" }).innerText();
    check(/cell-a/.test(ejected) && /ejected/.test(ejected), `ejected backend row: ${ejected}`);
    const healthy = await edge.locator("table.cells tbody tr", { hasText: "127.0.0.1:2579" }).innerText();
    check(/cell-b/.test(healthy) && /available/.test(healthy), `healthy backend row: ${healthy}`);

    // Data is text, never markup.
    check(await card.locator("table.conditions").innerText().then((t) => t.includes(hostile)),
          "the hostile condition message is shown as text");
    check(await page.locator("img").count() === 0, "no element was made from data");
    check(await page.evaluate(() => window.__hacked === undefined), "no script ran from data");

    // ---- Scale 3 -> 5: dialog, confirmation, compare-and-swap PUT. ----
    await card.locator("button.scale").click();
    const dialog = page.locator("#action-dialog");
    await dialog.waitFor({ state: "visible" });
    await page.fill("#action-input", "5");
    const summary = await page.locator("#action-summary").innerText();
    check(summary.includes("spec.members 3 → 5"), `confirmation text: ${summary}`);
    await page.click("#action-confirm");
    await dialog.waitFor({ state: "hidden" });
    const stored = await call("GET", `${api}/kvclusters/alpha`);
    check(stored.spec.members === 5, `spec.members is ${stored.spec.members}`);
    check(stored.metadata.generation === 2, `generation is ${stored.metadata.generation}`);
    const action = page.locator("#activity p.action[data-name='alpha']");
    await action.filter({ hasText: "members 3 → 5 (generation 2): generation 2 stored; waiting for the controller" }).waitFor();
    await card.locator(".generation", { hasText: "generation 2, observed 1 (waiting for the controller)" }).waitFor();

    // The controller's progress arrives live through the watch.
    await setStatus("KVCluster", "alpha", Object.assign(runStatus(2, 4), {
      phase: "Scale",
      operation: { name: "Scale", step: 2, target: "5", started: "2026-01-01T00:01:00Z",
                   steps: [{ step: "add alpha-3", time: "2026-01-01T00:01:01Z", result: "ok" }] } }));
    await card.locator(".phase[data-phase='Scale']").waitFor();
    await card.locator(".operation", { hasText: "Operation Scale, step 2" }).waitFor();
    await card.locator(".operation", { hasText: "add alpha-3" }).waitFor();
    await action.filter({ hasText: "operation Scale running, step 2 (phase Scale)" }).waitFor();

    // A restart of the API server ends the watches; the page reconnects and lists again.
    restarting = true;
    await harness.command("restart");
    await setStatus("KVCluster", "alpha", runStatus(2, 5));
    await card.locator(".phase[data-phase='Run']").waitFor();
    await card.locator("table.members tbody tr", { hasText: "alpha-4" }).waitFor();
    await card.locator(".generation", { hasText: "generation 2, observed 2" }).waitFor();
    await action.filter({ hasText: "done: phase Run" }).waitFor();
    await page.locator("#conn-kvclusters[data-state='live']").waitFor();
    await page.locator("#conn-routerfleets[data-state='live']").waitFor();
    restarting = false;

    // ---- Switch-over to the standby: dialog, compare-and-swap PUT of spec.standby.promote. ----
    await card.locator("button.switchover").click();
    await dialog.waitFor({ state: "visible" });
    check(await page.locator("#action-field").isHidden(), "no input for a switch-over");
    const switchText = await page.locator("#action-summary").innerText();
    check(switchText.includes("stops writes to alpha, waits for lag 0, promotes alpha-dr, points the router fleets at it"),
          `switch-over confirmation: ${switchText}`);
    await page.click("#action-confirm");
    await dialog.waitFor({ state: "hidden" });
    const promoted = await call("GET", `${api}/kvclusters/alpha`);
    const promote = promoted.spec.standby.promote || {};
    check(promote.mode === "switchover" && !Number.isNaN(Date.parse(promote.requested)),
          `spec.standby.promote: ${JSON.stringify(promote)}`);
    check(promoted.spec.standby.cluster === "alpha-dr" && promoted.spec.standby.prefixes[0] === "/app/" &&
          promoted.spec.members === 5 && promoted.metadata.generation === 3,
          `the rest of the spec is kept: ${JSON.stringify(promoted.spec)}`);
    const switchover = page.locator("#activity p.action", { hasText: "switch-over to alpha-dr (generation 3)" });
    await switchover.filter({ hasText: "requested; waiting for the standby controller" }).waitFor();
    const withMirror = (mirror) => {
      const st = runStatus(3, 5);
      st.mirror = Object.assign({}, st.mirror, mirror);
      return st;
    };
    await setStatus("KVCluster", "alpha", withMirror({
      lagRevisions: 0, writeFenced: true,
      operation: { name: "Switchover", step: "WaitForLagZero", requested: promote.requested,
                   started: "2026-01-01T00:02:00Z",
                   log: [{ time: "2026-01-01T00:02:00Z", step: "FenceWrites", result: "ok" }] } }));
    await switchover.filter({ hasText: "operation Switchover running, step WaitForLagZero" }).waitFor();
    await card.locator(".mirror-operation", { hasText: "FenceWrites" }).waitFor();
    await setStatus("KVCluster", "alpha", withMirror({
      state: "Promoted", lagRevisions: 0,
      promotion: { mode: "switchover", requested: promote.requested, result: "Succeeded", promoted: "alpha-dr",
                   fenceRevision: 100, appliedRevision: 100, repointedFleets: ["edge"] } }));
    await switchover.filter({ hasText: "done: promotion Succeeded" }).waitFor();
    await card.locator(".promotion dd[data-field='promoted']", { hasText: "alpha-dr" }).waitFor();

    const screenshot = path.join(artifactDir, "console.png");
    fs.mkdirSync(artifactDir, { recursive: true });
    await page.screenshot({ path: screenshot, fullPage: true });
    console.log(`screenshot: ${screenshot}`);

    // The per-kind limit: with ?max=1 one of two KVClusters is shown.
    await call("POST", `${api}/kvclusters`, {
      apiVersion: "grid.dev/v1", kind: "KVCluster", metadata: { name: "beta" },
      spec: { engine: "etcd", version: "3.4.23", members: 1 } });
    await page.locator("article.kvcluster[data-name='beta']").waitFor();
    await page.goto(`${base}/console?max=1`);
    await page.locator("#kvclusters .more[data-more='1']").waitFor();
    check(await page.locator("article.kvcluster").count() === 1, "one KVCluster shown at max=1");

    check(pageErrors.length === 0, `the page reported errors:\n${pageErrors.join("\n")}`);
    console.log("PASS console_browser_test");
  } catch (e) {
    if (page) {
      // What the page saw, for the failure message.
      const badges = await page.locator("header .conn").allInnerTexts().catch(() => []);
      console.error(`page feeds: ${badges.join(" | ")}`);
      const failed = path.join(artifactDir, "console-failure.png");
      fs.mkdirSync(artifactDir, { recursive: true });
      await page.screenshot({ path: failed, fullPage: true }).catch(() => {});
      console.error(`failure screenshot: ${failed}`);
    }
    throw e;
  } finally {
    if (browser) await browser.close();
    if (admin) admin.close();
    await harness.stop();
  }
}

main().catch((e) => {
  console.error(`FAIL: ${e.stack || e}`);
  process.exit(1);
});
