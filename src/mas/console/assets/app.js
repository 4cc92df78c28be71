// The gridmas console: lists and watches KVClusters and RouterFleets through the resource API,
// shows the views fetched beside them (backups, inspection report, a fleet's routes and cells),
// changes the spec by compare-and-swap PUTs (scale, upgrade, restore, switch-over) and takes
// backups on demand.
// Every piece of data is rendered as text (createTextNode / textContent); never as markup.
"use strict";
(() => {
  const API = "/apis/grid.dev/v1/";
  const query = new URLSearchParams(location.search);

  // Limits.
  const MAX_OBJECTS_SHOWN = clampInt(query.get("max"), 1, 1000, 100);  // per kind
  const MAX_STEPS_SHOWN = 20;          // of the running operation (the newest)
  const MAX_ACTIVITY_SHOWN = 5;        // actions followed at the top of the page
  const BACKOFF_MIN_MS = 500;          // reconnect delay, doubling up to BACKOFF_MAX_MS
  const BACKOFF_MAX_MS = 30000;
  const STALL_MS = 20000;              // no line for this long (bookmarks come every 5 s): reconnect
  const MAX_LINE_CHARS = 2 * 1024 * 1024;  // an unterminated event line longer than this: reconnect
  const MAX_CONFLICT_RETRIES = 3;      // PUTs answered 409 (the object changed) retried
  const MAX_BACKUPS_SHOWN = 10;        // per cluster, the newest
  const MAX_CELLS_SHOWN = 20;          // per fleet
  const MAX_BACKENDS_SHOWN = 20;       // per cell
  const VIEW_REFRESH_MS = 10000;       // a shown view is fetched again after this long

  const KINDS = {
    kvclusters: { kind: "KVCluster", count: "members", render: renderKVCluster },
    routerfleets: { kind: "RouterFleet", count: "replicas", render: renderRouterFleet },
  };

  function clampInt(text, min, max, fallback) {
    const n = Number.parseInt(text ?? "", 10);
    return Number.isInteger(n) ? Math.min(max, Math.max(min, n)) : fallback;
  }

  // An element with attributes (only names written here: class, title, data-*) and children
  // (strings become text nodes; null is skipped).
  function h(tag, attrs, ...children) {
    const e = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v !== null && v !== undefined) e.setAttribute(k, String(v));
    }
    for (const c of children.flat()) {
      if (c === null || c === undefined) continue;
      e.append(c instanceof Node ? c : document.createTextNode(String(c)));
    }
    return e;
  }

  function shown(v) {
    if (v === null || v === undefined || v === "") return "-";
    return typeof v === "string" ? v : JSON.stringify(v);
  }

  const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

  async function errorText(res) {
    const text = await res.text();
    try {
      const body = JSON.parse(text);
      if (body && body.message) return `${res.status} ${body.reason || ""}: ${body.message}`;
    } catch (_) { /* not JSON */ }
    return `${res.status} ${text.slice(0, 200)}`;
  }

  async function getJson(path) {
    const res = await fetch(path, { cache: "no-store" });
    if (!res.ok) throw new Error(await errorText(res));
    return res.json();
  }

  // ---- Feeds: list, then watch from the list's resourceVersion; on any end, list again. ----

  class Feed {
    constructor(plural) {
      this.plural = plural;
      this.objects = new Map();  // name -> object
      this.badge = document.getElementById(`conn-${plural}`);
    }

    setConnection(state, text) {
      this.badge.dataset.state = state;
      this.badge.textContent = `${KINDS[this.plural].kind}s: ${text}`;
    }

    async run() {
      let delay_ms = BACKOFF_MIN_MS;
      for (;;) {
        let why = "the stream ended";
        try {
          await this.once(() => { delay_ms = BACKOFF_MIN_MS; });
        } catch (e) {
          why = e.name === "AbortError" ? "no data for too long" : e.message;
        }
        this.setConnection("retrying", `${why}; reconnecting in ${(delay_ms / 1000).toFixed(1)} s`);
        await sleep(delay_ms);
        delay_ms = Math.min(delay_ms * 2, BACKOFF_MAX_MS);
      }
    }

    async once(onLive) {
      const list = await getJson(API + this.plural);
      this.objects = new Map((list.items || []).map((o) => [o.metadata.name, o]));
      scheduleRender();
      const abort = new AbortController();
      let timer = 0;
      const arm = () => {
        clearTimeout(timer);
        timer = setTimeout(() => abort.abort(), STALL_MS);
      };
      arm();
      try {
        const rv = encodeURIComponent(list.metadata.resourceVersion || "0");
        const res = await fetch(`${API}${this.plural}?watch=1&resourceVersion=${rv}`,
                                { cache: "no-store", signal: abort.signal });
        if (!res.ok) throw new Error(await errorText(res));
        this.setConnection("live", "live");
        onLive();
        const reader = res.body.getReader();
        const decoder = new TextDecoder();
        let buffer = "";
        for (;;) {
          const { value, done } = await reader.read();
          if (done) return;
          arm();
          buffer += decoder.decode(value, { stream: true });
          let newline;
          while ((newline = buffer.indexOf("\n")) >= 0) {
            const line = buffer.slice(0, newline);
            buffer = buffer.slice(newline + 1);
            if (line.trim() !== "") this.apply(JSON.parse(line));
          }
          if (buffer.length > MAX_LINE_CHARS) throw new Error("an event line over the limit");
        }
      } finally {
        clearTimeout(timer);
        abort.abort();
      }
    }

    apply(event) {
      const object = event.object || {};
      const name = object.metadata && object.metadata.name;
      switch (event.type) {
        case "ADDED":
        case "MODIFIED":
          this.objects.set(name, object);
          break;
        case "DELETED":
          this.objects.delete(name);
          break;
        case "BOOKMARK":
          return;
        case "ERROR":
          throw new Error(`watch ended: ${object.code} ${object.reason}: ${object.message}`);
        default:
          return;
      }
      scheduleRender();
    }
  }

  const feeds = { kvclusters: new Feed("kvclusters"), routerfleets: new Feed("routerfleets") };

  // ---- Views fetched beside an object (backups, inspection report, routes, cells) ----

  // Fetched when the object's resourceVersion changes and every VIEW_REFRESH_MS while shown;
  // one request in flight per view (a change meanwhile fetches again once it ends).
  class SideView {
    constructor(url) {
      this.url = url;
      this.data = null;        // the last 200 answer
      this.error = "";         // the last failure, "" after a success
      this.code = 0;           // its HTTP status (0: no answer)
      this.version = null;
      this.fetchedAt = 0;
      this.inflight = false;
      this.again = false;
    }
    want(version) {
      if (version === this.version && Date.now() - this.fetchedAt < VIEW_REFRESH_MS) return;
      this.version = version;
      this.load();
    }
    async load() {
      if (this.inflight) {
        this.again = true;
        return;
      }
      this.inflight = true;
      try {
        const res = await fetch(this.url, { cache: "no-store" });
        if (res.ok) {
          this.data = await res.json();
          this.error = "";
          this.code = res.status;
        } else {
          this.code = res.status;
          this.error = await errorText(res);
        }
      } catch (e) {
        this.code = 0;
        this.error = e.message;
      } finally {
        this.inflight = false;
        this.fetchedAt = Date.now();
      }
      scheduleRender();
      if (this.again) {
        this.again = false;
        this.load();
      }
    }
  }

  const views = new Map();  // url -> SideView; only those of shown objects are kept
  let viewsWanted = new Set();
  function view(plural, object, what) {
    const url = `${API}${plural}/${encodeURIComponent(object.metadata.name)}/${what}`;
    let v = views.get(url);
    if (!v) {
      v = new SideView(url);
      views.set(url, v);
    }
    viewsWanted.add(url);
    v.want(object.metadata.resourceVersion);
    return v;
  }
  setInterval(scheduleRender, VIEW_REFRESH_MS);

  // ---- Rendering ----

  let renderPending = false;
  function scheduleRender() {
    if (renderPending) return;
    renderPending = true;
    setTimeout(() => {
      renderPending = false;
      render();
    }, 0);
  }

  function render() {
    viewsWanted = new Set();
    for (const [plural, feed] of Object.entries(feeds)) {
      const names = [...feed.objects.keys()].sort();
      const cards = names.slice(0, MAX_OBJECTS_SHOWN)
                         .map((name) => KINDS[plural].render(feed.objects.get(name)));
      if (names.length === 0) cards.push(h("p", { class: "more" }, "none"));
      if (names.length > MAX_OBJECTS_SHOWN) {
        cards.push(h("p", { class: "more", "data-more": names.length - MAX_OBJECTS_SHOWN },
                     `${names.length - MAX_OBJECTS_SHOWN} more not shown (limit ${MAX_OBJECTS_SHOWN})`));
      }
      document.getElementById(plural).replaceChildren(...cards);
    }
    for (const url of [...views.keys()]) {
      if (!viewsWanted.has(url)) views.delete(url);
    }
    renderActivity();
  }

  function header(plural, object) {
    const meta = object.metadata || {};
    const status = object.status || {};
    const generation = meta.generation || 0;
    const observed = status.observedGeneration || 0;
    return h("h3", {},
      h("span", { class: "name" }, meta.name),
      h("span", { class: "phase", "data-phase": status.phase || "" }, status.phase || "no phase yet"),
      h("span", { class: "meta generation" },
        `generation ${generation}, observed ${observed}`,
        generation > observed ? " (waiting for the controller)" : null));
  }

  function table(columns, rows, attrs) {
    return h("table", attrs || {},
      h("thead", {}, h("tr", {}, columns.map((c) => h("th", {}, c)))),
      h("tbody", {}, rows.map((r) => h("tr", {}, r.map((cell) =>
        cell instanceof Node ? h("td", {}, cell) : h("td", {}, shown(cell)))))));
  }

  // "key value" pairs of `object` in the order of `keys`, only those present.
  function fields(object, keys, attrs) {
    const present = keys.filter((k) => object[k] !== undefined && object[k] !== null);
    if (present.length === 0) return null;
    return h("dl", attrs || {}, present.flatMap((k) => [h("dt", {}, k), h("dd", { "data-field": k }, shown(object[k]))]));
  }

  function conditions(status) {
    const list = status.conditions || [];
    if (list.length === 0) return null;
    return table(["condition", "status", "reason", "message", "since"],
      list.map((c) => [c.type,
        h("span", { class: c.status === "True" ? "good" : c.status === "False" ? "bad" : "" }, c.status),
        c.reason, c.message, c.lastTransitionTime]),
      { class: "conditions" });
  }

  // The leader's name from the LeaderPresent condition ("leader NAME (ID)"), or "".
  function leaderName(status) {
    const c = (status.conditions || []).find((x) => x.type === "LeaderPresent");
    if (!c || c.status !== "True") return "";
    const m = /^leader (\S+) \(/.exec(c.message || "");
    return m ? m[1] : "";
  }

  function steps(list, title) {
    const rows = Array.isArray(list) ? list : [];
    const newest = rows.slice(-MAX_STEPS_SHOWN);
    return h("div", { class: "steps" },
      rows.length > newest.length ? h("p", { class: "more" },
        `${rows.length - newest.length} older ${title} not shown`) : null,
      newest.length ? table(["step", "time", "result"], newest.map((s) => [s.step, s.time, s.result])) : null);
  }

  function operation(status) {
    const op = status.operation;
    if (!op || typeof op !== "object") return h("p", { class: "operation meta" }, "no operation running");
    const details = ["target", "from", "member", "reason", "backup", "started"]
      .filter((k) => op[k] !== undefined).map((k) => `${k} ${shown(op[k])}`);
    return h("div", { class: "operation" },
      h("p", {}, h("strong", {}, `Operation ${shown(op.name)}`), `, step ${shown(op.step)}`,
        details.length ? ` (${details.join(", ")})` : null),
      steps(op.steps || op.log, "steps"));
  }

  function history(status) {
    const list = status.history || [];
    if (list.length === 0) return null;
    return h("details", { class: "history" },
      h("summary", {}, `History (${list.length})`),
      [...list].reverse().map((r) => h("div", {},
        h("p", {}, h("strong", {}, r.name), ` ${r.result}, ${shown(r.started)} → ${shown(r.finished)}`),
        steps(r.steps, "steps"))));
  }

  function button(cls, name, text, onClick) {
    const b = h("button", { class: cls, "data-name": name }, text);
    b.addEventListener("click", onClick);
    return b;
  }

  function actions(plural, object) {
    const spec = object.spec || {};
    const count = KINDS[plural].count;
    const name = object.metadata.name;
    return h("div", { class: "actions" },
      button("scale", name, "Scale…", () => openFieldAction(plural, name, count, spec[count], "number")),
      button("upgrade", name, "Upgrade…", () => openFieldAction(plural, name, "version", spec.version, "text")),
      plural === "kvclusters" && spec.backup ? button("backup-now", name, "Back up now", () => openBackupNow(object)) : null,
      plural === "kvclusters" && spec.standby ? button("switchover", name, "Switch over…", () => openSwitchover(object)) : null);
  }

  // Applied index and lag per member from the last inspection report (lag: the highest raft
  // index of the answering members minus the member's applied index, as AppliedIndexLag).
  function inspectionByMember(report) {
    const members = (report && Array.isArray(report.members)) ? report.members : [];
    const top = Math.max(0, ...members.filter((m) => m.reachable).map((m) => Number(m.raftIndex) || 0));
    const out = new Map();
    for (const m of members) {
      out.set(m.name, m.reachable
        ? { applied: m.appliedIndex, lag: top - (Number(m.appliedIndex) || 0) }
        : { applied: "unreachable", lag: null });
    }
    return out;
  }

  function inspectionLine(v) {
    if (v.data) {
      return h("p", { class: "meta inspection" },
        `inspection at ${shown(v.data.time)}, hash revision ${shown(v.data.hashRevision)}`);
    }
    if (v.code === 404) return h("p", { class: "meta inspection" }, "no inspection report yet");
    return v.error ? h("p", { class: "meta inspection error" }, `inspection report: ${v.error}`) : null;
  }

  function backups(object) {
    const spec = object.spec || {};
    if (!spec.backup) return null;
    const v = view("kvclusters", object, "backups");
    const items = (v.data && Array.isArray(v.data.items)) ? v.data.items : [];
    const newest = items.slice(0, MAX_BACKUPS_SHOWN);
    const rows = newest.map((b) => [b.name, b.revision, b.sizeBytes, b.created,
      b.verified ? "verified" : "not verified",
      button("restore", b.name, "Restore…", () => openRestore(object, b))]);
    return h("div", { class: "backups" },
      h("h4", {}, `Backups (bucket ${shown(spec.backup.bucket)}, schedule ${shown(spec.backup.schedule)})`),
      v.error ? h("p", { class: "error" }, `backups: ${v.error}`) : null,
      rows.length ? table(["backup", "revision", "size (bytes)", "created", "", ""], rows, { class: "backups" })
                  : h("p", { class: "meta" }, v.data ? "no backups yet" : "loading…"),
      items.length > newest.length ? h("p", { class: "more" },
        `${items.length - newest.length} older backups not shown (limit ${MAX_BACKUPS_SHOWN})`) : null);
  }

  const MIRROR_FIELDS = ["standby", "prefixes", "state", "appliedRevision", "primaryRevision",
    "lagRevisions", "lagSeconds", "fullCopies", "foreignWrites", "lastForeignKey", "lastError",
    "updated", "writeFenced"];
  const PROMOTION_FIELDS = ["mode", "requested", "result", "message", "step", "promoted",
    "finished", "fenceRevision", "appliedRevision", "uncopiedRevisions", "missingRevisions",
    "repointedFleets"];

  function mirror(object) {
    const spec = object.spec || {};
    const m = (object.status && typeof object.status.mirror === "object" && object.status.mirror) || null;
    if (!spec.standby && !m) return null;
    const standby = spec.standby || {};
    const lag = m && m.lagRevisions !== undefined
      ? `lag ${shown(m.lagRevisions)} revisions` + (m.lagSeconds !== undefined ? `, ${shown(m.lagSeconds)} s` : "")
      : "lag unknown";
    const op = m && m.operation && typeof m.operation === "object" ? m.operation : null;
    return h("div", { class: "mirror" },
      h("h4", {}, `Mirror to ${shown(standby.cluster || (m && m.standby))}: ${shown(m && m.state)}, `,
        h("span", { class: "lag" }, lag)),
      m ? fields(m, MIRROR_FIELDS, { class: "fields mirror-fields" }) : h("p", { class: "meta" }, "no mirror status yet"),
      op ? h("div", { class: "operation mirror-operation" },
        h("p", {}, h("strong", {}, `Operation ${shown(op.name)}`), `, step ${shown(op.step)}`,
          ` (requested ${shown(op.requested)}, started ${shown(op.started)})`),
        steps(op.log, "steps")) : null,
      m && m.promotion && typeof m.promotion === "object"
        ? h("div", { class: "promotion" }, h("p", {}, h("strong", {}, "Last promotion")),
            fields(m.promotion, PROMOTION_FIELDS, { class: "fields" })) : null);
  }

  function renderKVCluster(object) {
    const spec = object.spec || {};
    const status = object.status || {};
    const leader = leaderName(status);
    const zones = spec.placement && spec.placement.zones;
    const inspection = view("kvclusters", object, "inspection");
    const applied = inspectionByMember(inspection.data);
    const members = (status.members || []).map((m) => {
      const a = applied.get(m.name) || {};
      return [
        m.name,
        m.role || (leader ? (m.name === leader ? "leader" : "follower") : "-"),
        h("span", { class: m.healthy ? "good" : "bad" }, m.healthy ? "healthy" : "unhealthy"),
        m.version, m.zone, a.applied, a.lag, m.clientURL, m.downSince];
    });
    return h("article", { class: "card kvcluster", "data-name": object.metadata.name },
      header("kvclusters", object),
      h("p", { class: "meta spec" },
        `${shown(spec.engine)} ${shown(spec.version)}, ${shown(spec.members)} members`,
        zones ? `, zones ${zones.join(" ")}` : null),
      conditions(status),
      members.length ? table(["member", "role", "health", "version", "zone", "applied index", "lag",
                              "client URL", "down since"], members, { class: "members" })
                     : h("p", { class: "meta" }, "no members observed"),
      inspectionLine(inspection),
      operation(status),
      backups(object),
      mirror(object),
      history(status),
      actions("kvclusters", object));
  }

  function routing(object) {
    const routes = view("routerfleets", object, "routes");
    const cells = view("routerfleets", object, "cells");
    const r = routes.data;
    const summary = r
      ? h("p", { class: "routes" }, `routing table revision ${shown(r.revision)}: ${shown(r.cells)} cells, `,
          h("span", { class: "tenants" }, `${shown(r.tenants)} tenants`),
          `, ${shown(r.backends)} backends (from ${shown(r.adminAddress)}, source ${shown(r.source)}`,
          r.origin !== undefined ? `, ${shown(r.origin)}` : null,
          r.store_revision !== undefined ? `, store revision ${shown(r.store_revision)}` : null,
          r.connected !== undefined ? (r.connected ? ", connected" : ", not connected") : null, ")",
          r.store_error ? `; store error: ${r.store_error}` : null,
          r.refused ? `; refused revision ${shown(r.refused.revision)}: ${shown(r.refused.error)}` : null)
      : h("p", { class: routes.error ? "error routes" : "meta routes" },
          routes.error ? `routes: ${routes.error}` : "routing table: loading…");
    const list = (cells.data && Array.isArray(cells.data.cells)) ? cells.data.cells : [];
    const rows = [];
    for (const c of list.slice(0, MAX_CELLS_SHOWN)) {
      let shownBackends = 0;
      let total = 0;
      for (const g of (Array.isArray(c.groups) ? c.groups : [])) {
        for (const b of (Array.isArray(g.backends) ? g.backends : [])) {
          total += 1;
          if (shownBackends >= MAX_BACKENDS_SHOWN) continue;
          shownBackends += 1;
          const health = b.available === undefined ? "unknown" : b.ejected ? "ejected"
            : b.available ? "available" : "unavailable";
          rows.push([c.name, c.health_check, `${shown(g.name)} (${shown(g.weight_percent)} %)`, b.address,
            b.weight, h("span", { class: health === "available" ? "good" : health === "unknown" ? "" : "bad" }, health),
            b.connections]);
        }
      }
      if (total > shownBackends) {
        rows.push([c.name, "", "", `${total - shownBackends} more backends not shown (limit ${MAX_BACKENDS_SHOWN})`, "", "", ""]);
      }
    }
    return h("div", { class: "routing" }, summary,
      cells.error && !cells.data ? h("p", { class: "error" }, `cells: ${cells.error}`) : null,
      rows.length ? table(["cell", "health check", "group", "backend", "weight", "health", "connections"],
                          rows, { class: "cells" }) : null,
      list.length > MAX_CELLS_SHOWN ? h("p", { class: "more" },
        `${list.length - MAX_CELLS_SHOWN} more cells not shown (limit ${MAX_CELLS_SHOWN})`) : null);
  }

  function renderRouterFleet(object) {
    const spec = object.spec || {};
    const status = object.status || {};
    const op = (status.operation && typeof status.operation === "object") ? status.operation : {};
    const fleet = op.fleet || {};
    const replicas = (fleet.replicas || []).map((r) => [r.color, r.index, r.version, r.port, r.adminPort]);
    const rollout = op.name ? h("div", { class: "operation" },
      h("p", {}, h("strong", {}, `Rollout ${shown(op.name)}`), `, step ${shown(op.step)}`,
        fleet.targetVersion ? `, to ${fleet.targetVersion}` : null,
        `, green ${shown(fleet.greenPercent)} %, weights ${shown(op.weights)}`),
      steps(op.log, "steps")) : h("p", { class: "operation meta" }, "no rollout running");
    return h("article", { class: "card routerfleet", "data-name": object.metadata.name },
      header("routerfleets", object),
      h("p", { class: "meta spec" }, `${shown(spec.version)}, ${shown(spec.replicas)} replicas`),
      h("p", { class: "active" }, `active version ${shown(fleet.activeVersion)} (${shown(fleet.activeColor)})`,
        fleet.failedVersion ? `, failed version ${fleet.failedVersion}` : null),
      conditions(status),
      replicas.length ? table(["color", "index", "version", "port", "admin port"], replicas, { class: "replicas" }) : null,
      replicas.length ? routing(object) : null,
      rollout,
      actions("routerfleets", object));
  }

  // ---- Actions, followed in the activity list at the top ----

  // {plural, name, text, generation?, follow(object) -> state text}
  const activity = [];

  function followSpecChange(a) {
    return (object) => {
      const status = object.status || {};
      const op = status.operation;
      if ((status.observedGeneration || 0) < a.generation) {
        return `generation ${a.generation} stored; waiting for the controller`;
      }
      if (op && typeof op === "object" && op.name) {
        return `operation ${op.name} running, step ${shown(op.step)} (phase ${shown(status.phase)})`;
      }
      return `done: phase ${shown(status.phase)}`;
    };
  }

  function followPromotion(requested) {
    return (object) => {
      const m = (object.status && object.status.mirror) || {};
      const p = m.promotion;
      if (p && p.requested === requested && p.result) {
        return `done: promotion ${shown(p.result)}` + (p.message ? ` (${shown(p.message)})` : "");
      }
      const op = m.operation;
      if (op && typeof op === "object" && op.name) return `operation ${op.name} running, step ${shown(op.step)}`;
      return "requested; waiting for the standby controller";
    };
  }

  function renderActivity() {
    const rows = activity.slice(-MAX_ACTIVITY_SHOWN).map((a) => {
      const object = feeds[a.plural].objects.get(a.name);
      const state = object ? a.follow(object) : "deleted";
      return h("p", { class: "action", "data-name": a.name },
        `${KINDS[a.plural].kind} ${a.name}: ${a.text}` +
        (a.generation !== undefined ? ` (generation ${a.generation})` : "") + `: ${state}`);
    });
    document.getElementById("activity").replaceChildren(...rows);
  }

  // Reads the object, lets `change` make the new spec from a copy of the current one (it
  // throws to refuse), and PUTs it with the read's resourceVersion; 409 is retried.
  async function updateSpec(plural, name, change) {
    const path = API + plural + "/" + encodeURIComponent(name);
    for (let attempt = 0; ; ++attempt) {
      const now = await getJson(path);
      const spec = change(JSON.parse(JSON.stringify(now.spec || {})));
      const body = Object.assign({}, now, { spec });
      delete body.status;
      const res = await fetch(path, { method: "PUT", cache: "no-store",
                                      headers: { "Content-Type": "application/json" },
                                      body: JSON.stringify(body) });
      if (res.status === 409 && attempt < MAX_CONFLICT_RETRIES) continue;
      if (!res.ok) throw new Error(await errorText(res));
      return res.json();
    }
  }

  // Shows a stored object at once; the watch brings the same version or a later one.
  function showStored(plural, stored) {
    const feed = feeds[plural];
    const known = feed.objects.get(stored.metadata.name);
    if (!known || Number(known.metadata.resourceVersion) < Number(stored.metadata.resourceVersion)) {
      feed.objects.set(stored.metadata.name, stored);
    }
  }

  const dialog = document.getElementById("action-dialog");
  const input = document.getElementById("action-input");
  // {title, summary(value) -> text, input: null | {label, type, value, number}, run(value)}
  let pending = null;

  function parseValue() {
    if (!pending.input) return null;
    if (!pending.input.number) return input.value.trim();
    return /^[0-9]+$/.test(input.value.trim()) ? Number.parseInt(input.value, 10) : NaN;
  }

  function describePending() {
    document.getElementById("action-summary").textContent = pending.summary(parseValue());
  }

  function openDialog(p) {
    pending = p;
    document.getElementById("action-title").textContent = p.title;
    const field = document.getElementById("action-field");
    field.hidden = !p.input;
    input.disabled = !p.input;
    if (p.input) {
      document.getElementById("action-label").textContent = p.input.label;
      input.type = p.input.type;
      input.value = p.input.value;
    }
    document.getElementById("action-error").textContent = "";
    describePending();
    dialog.showModal();
    if (p.input) input.focus();
  }

  function openFieldAction(plural, name, field, from, type) {
    const kind = KINDS[plural].kind;
    openDialog({
      title: `${field === "version" ? "Upgrade" : "Scale"} ${kind} ${name}`,
      input: { label: field, type, value: from === undefined ? "" : String(from), number: type === "number" },
      summary: (value) => `${kind} ${name}: spec.${field} ${shown(from)} → ${shown(value)}. The controller ` +
        "carries the change out one member at a time; confirm to store it.",
      run: async (value) => {
        if (Number.isNaN(value) || value === "") throw new Error(`${field}: enter a value`);
        const stored = await updateSpec(plural, name, (spec) => {
          if (JSON.stringify(spec[field]) !== JSON.stringify(from)) {
            throw new Error(`spec.${field} is now ${shown(spec[field])}, not ${shown(from)} as shown; nothing changed`);
          }
          spec[field] = value;
          return spec;
        });
        showStored(plural, stored);
        const a = { plural, name, text: `${field} ${shown(from)} → ${shown(value)}`,
                    generation: stored.metadata.generation };
        a.follow = followSpecChange(a);
        activity.push(a);
      },
    });
  }

  function openBackupNow(object) {
    const name = object.metadata.name;
    const bucket = (object.spec.backup || {}).bucket;
    openDialog({
      title: `Back up KVCluster ${name}`,
      input: null,
      summary: () => `Take a backup of KVCluster ${name} now (a snapshot of one member, uploaded to ` +
        `${shown(bucket)} and verified; the retention of spec.backup applies). Confirm to start it.`,
      run: async () => {
        const path = `${API}kvclusters/${encodeURIComponent(name)}/backups`;
        document.getElementById("action-summary").textContent = `Taking a backup of ${name}…`;
        const res = await fetch(path, { method: "POST", cache: "no-store" });
        if (!res.ok) throw new Error(await errorText(res));
        const record = await res.json();
        const v = views.get(path);
        if (v && v.data && Array.isArray(v.data.items) && !v.data.items.some((b) => b.name === record.name)) {
          v.data.items.unshift(record);
        }
        if (v) v.load();
        activity.push({ plural: "kvclusters", name,
                        text: `backup ${record.name} created at revision ${shown(record.revision)}, ` +
                              `${shown(record.sizeBytes)} bytes`,
                        follow: () => "done" });
      },
    });
  }

  function openRestore(object, backup) {
    const name = object.metadata.name;
    openDialog({
      title: `Restore KVCluster ${name}`,
      input: null,
      summary: () => `Restore KVCluster ${name} from backup ${backup.name} (revision ${shown(backup.revision)}, ` +
        `created ${shown(backup.created)}): the cluster's data is replaced by the backup's; writes made ` +
        "since the backup are lost. Confirm to request it (spec.restoreFrom).",
      run: async () => {
        const requested = new Date().toISOString();
        const stored = await updateSpec("kvclusters", name, (spec) => {
          if (!spec.backup) throw new Error(`${name} has no spec.backup now; nothing changed`);
          spec.restoreFrom = { backup: backup.name, requested };
          return spec;
        });
        showStored("kvclusters", stored);
        const a = { plural: "kvclusters", name, text: `restore from ${backup.name}`,
                    generation: stored.metadata.generation };
        a.follow = followSpecChange(a);
        activity.push(a);
      },
    });
  }

  function openSwitchover(object) {
    const name = object.metadata.name;
    const standby = (object.spec.standby || {}).cluster;
    openDialog({
      title: `Switch over KVCluster ${name}`,
      input: null,
      summary: () => `Switch over: stops writes to ${name}, waits for lag 0, promotes ${shown(standby)}, ` +
        `points the router fleets at it. Confirm to request it (spec.standby.promote).`,
      run: async () => {
        const requested = new Date().toISOString();
        const stored = await updateSpec("kvclusters", name, (spec) => {
          if (!spec.standby || spec.standby.cluster !== standby) {
            throw new Error(`spec.standby of ${name} changed (now ${shown(spec.standby && spec.standby.cluster)}, ` +
                            `not ${shown(standby)} as shown); nothing changed`);
          }
          spec.standby = Object.assign({}, spec.standby, { promote: { mode: "switchover", requested } });
          return spec;
        });
        showStored("kvclusters", stored);
        activity.push({ plural: "kvclusters", name, text: `switch-over to ${shown(standby)}`,
                        generation: stored.metadata.generation, follow: followPromotion(requested) });
      },
    });
  }

  input.addEventListener("input", () => { if (pending) describePending(); });
  document.getElementById("action-cancel").addEventListener("click", (e) => {
    e.preventDefault();
    pending = null;
    dialog.close();
  });
  document.getElementById("action-form").addEventListener("submit", async (e) => {
    e.preventDefault();
    if (!pending) return;
    const action = pending;
    const error = document.getElementById("action-error");
    const confirm = document.getElementById("action-confirm");
    error.textContent = "";
    confirm.disabled = true;
    try {
      await action.run(parseValue());
      if (pending === action) pending = null;
      dialog.close();
      scheduleRender();
    } catch (err) {
      error.textContent = err.message;
      if (pending === action) describePending();
    } finally {
      confirm.disabled = false;
    }
  });

  for (const feed of Object.values(feeds)) feed.run();
})();
