// The gridmas console: lists and watches KVClusters and RouterFleets through the resource API
// and changes one spec field at a time (scale, upgrade) by compare-and-swap PUTs.
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
    const rows = list || [];
    const newest = rows.slice(-MAX_STEPS_SHOWN);
    return h("div", { class: "steps" },
      rows.length > newest.length ? h("p", { class: "more" },
        `${rows.length - newest.length} older ${title} not shown`) : null,
      newest.length ? table(["step", "time", "result"], newest.map((s) => [s.step, s.time, s.result])) : null);
  }

  function operation(status) {
    const op = status.operation;
    if (!op || typeof op !== "object") return h("p", { class: "operation meta" }, "no operation running");
    const details = ["target", "from", "member", "reason", "started"]
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

  function actions(plural, object) {
    const spec = object.spec || {};
    const count = KINDS[plural].count;
    const name = object.metadata.name;
    const scale = h("button", { class: "scale", "data-name": name }, "Scale…");
    scale.addEventListener("click", () => openAction(plural, name, count, spec[count], "number"));
    const upgrade = h("button", { class: "upgrade", "data-name": name }, "Upgrade…");
    upgrade.addEventListener("click", () => openAction(plural, name, "version", spec.version, "text"));
    return h("div", { class: "actions" }, scale, upgrade);
  }

  function renderKVCluster(object) {
    const spec = object.spec || {};
    const status = object.status || {};
    const leader = leaderName(status);
    const zones = spec.placement && spec.placement.zones;
    const members = (status.members || []).map((m) => [
      m.name,
      m.role || (leader ? (m.name === leader ? "leader" : "follower") : "-"),
      h("span", { class: m.healthy ? "good" : "bad" }, m.healthy ? "healthy" : "unhealthy"),
      m.version, m.zone, m.clientURL, m.downSince]);
    return h("article", { class: "card kvcluster", "data-name": object.metadata.name },
      header("kvclusters", object),
      h("p", { class: "meta spec" },
        `${shown(spec.engine)} ${shown(spec.version)}, ${shown(spec.members)} members`,
        zones ? `, zones ${zones.join(" ")}` : null),
      conditions(status),
      members.length ? table(["member", "role", "health", "version", "zone", "client URL", "down since"],
                             members, { class: "members" })
                     : h("p", { class: "meta" }, "no members observed"),
      operation(status),
      history(status),
      actions("kvclusters", object));
  }

  function renderRouterFleet(object) {
    const spec = object.spec || {};
    const status = object.status || {};
    const op = (status.operation && typeof status.operation === "object") ? status.operation : {};
    const fleet = op.fleet || {};
    const replicas = (fleet.replicas || []).map((r) => [r.color, r.index, r.version, r.port]);
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
      replicas.length ? table(["color", "index", "version", "port"], replicas, { class: "replicas" }) : null,
      rollout,
      actions("routerfleets", object));
  }

  // ---- Actions: one spec field, compare-and-swap, then followed in the activity list ----

  const activity = [];  // {plural, name, field, from, to, generation}

  function renderActivity() {
    const rows = activity.slice(-MAX_ACTIVITY_SHOWN).map((a) => {
      const object = feeds[a.plural].objects.get(a.name);
      let state = "deleted";
      if (object) {
        const status = object.status || {};
        const op = status.operation;
        if ((status.observedGeneration || 0) < a.generation) {
          state = `generation ${a.generation} stored; waiting for the controller`;
        } else if (op && typeof op === "object" && op.name) {
          state = `operation ${op.name} running, step ${shown(op.step)} (phase ${shown(status.phase)})`;
        } else {
          state = `done: phase ${shown(status.phase)}`;
        }
      }
      return h("p", { class: "action", "data-name": a.name },
        `${KINDS[a.plural].kind} ${a.name}: ${a.field} ${shown(a.from)} → ${shown(a.to)} ` +
        `(generation ${a.generation}): ${state}`);
    });
    document.getElementById("activity").replaceChildren(...rows);
  }

  async function setSpecField(plural, name, field, expected, value) {
    const path = API + plural + "/" + encodeURIComponent(name);
    for (let attempt = 0; ; ++attempt) {
      const now = await getJson(path);
      const spec = now.spec || {};
      if (JSON.stringify(spec[field]) !== JSON.stringify(expected)) {
        throw new Error(`spec.${field} is now ${shown(spec[field])}, not ${shown(expected)} as shown; nothing changed`);
      }
      const body = Object.assign({}, now, { spec: Object.assign({}, spec, { [field]: value }) });
      delete body.status;
      const res = await fetch(path, { method: "PUT", cache: "no-store",
                                      headers: { "Content-Type": "application/json" },
                                      body: JSON.stringify(body) });
      if (res.status === 409 && attempt < MAX_CONFLICT_RETRIES) continue;
      if (!res.ok) throw new Error(await errorText(res));
      return res.json();
    }
  }

  const dialog = document.getElementById("action-dialog");
  const input = document.getElementById("action-input");
  let pending = null;  // {plural, name, field, from, type}

  function parseValue() {
    if (pending.type !== "number") return input.value.trim();
    return /^[0-9]+$/.test(input.value.trim()) ? Number.parseInt(input.value, 10) : NaN;
  }

  function describePending() {
    const value = parseValue();
    document.getElementById("action-summary").textContent =
      `${KINDS[pending.plural].kind} ${pending.name}: spec.${pending.field} ` +
      `${shown(pending.from)} → ${shown(value)}. The controller carries the change out ` +
      `one member at a time; confirm to store it.`;
  }

  function openAction(plural, name, field, from, type) {
    pending = { plural, name, field, from, type };
    document.getElementById("action-title").textContent =
      `${field === "version" ? "Upgrade" : "Scale"} ${KINDS[plural].kind} ${name}`;
    document.getElementById("action-label").textContent = field;
    input.type = type;
    input.value = from === undefined ? "" : String(from);
    document.getElementById("action-error").textContent = "";
    describePending();
    dialog.showModal();
    input.focus();
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
    const value = parseValue();
    const error = document.getElementById("action-error");
    if (Number.isNaN(value) || value === "") {
      error.textContent = `${action.field}: enter a value`;
      return;
    }
    const confirm = document.getElementById("action-confirm");
    confirm.disabled = true;
    try {
      const stored = await setSpecField(action.plural, action.name, action.field, action.from, value);
      activity.push({ plural: action.plural, name: action.name, field: action.field,
                      from: action.from, to: value, generation: stored.metadata.generation });
      // Show the stored object at once; the watch brings the same version or a later one.
      const feed = feeds[action.plural];
      const known = feed.objects.get(action.name);
      if (!known || Number(known.metadata.resourceVersion) < Number(stored.metadata.resourceVersion)) {
        feed.objects.set(action.name, stored);
      }
      pending = null;
      dialog.close();
      scheduleRender();
    } catch (err) {
      error.textContent = err.message;
    } finally {
      confirm.disabled = false;
    }
  });

  for (const feed of Object.values(feeds)) feed.run();
})();
