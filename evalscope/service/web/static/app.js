/* The service's web page: vanilla JS over the job API (/api/v1/jobs...). No build step.
   Job data is always put in the DOM with textContent, never as HTML. */
(function () {
  "use strict";
  var TOKEN_KEY = "evalscope.token";
  var FINAL = ["succeeded", "failed", "cancelled", "interrupted"];

  function token() { try { return localStorage.getItem(TOKEN_KEY) || ""; } catch (e) { return ""; } }
  function setToken(value) {
    try { if (value) localStorage.setItem(TOKEN_KEY, value); else localStorage.removeItem(TOKEN_KEY); } catch (e) { /* private mode */ }
  }
  function el(tag, attrs, text) {
    var e = document.createElement(tag);
    if (attrs) Object.keys(attrs).forEach(function (k) {
      if (k === "class") e.className = attrs[k]; else e.setAttribute(k, attrs[k]);
    });
    if (text !== undefined && text !== null) e.textContent = String(text);
    return e;
  }
  function clear(node) { while (node.firstChild) node.removeChild(node.firstChild); }
  function banner(message) {
    var b = document.getElementById("banner");
    if (!message) { b.hidden = true; return; }
    b.textContent = message; b.hidden = false;
  }

  async function api(path, opts) {
    opts = Object.assign({}, opts || {});
    var headers = Object.assign({}, opts.headers || {});
    var t = token();
    if (t) headers["Authorization"] = "Bearer " + t;
    opts.headers = headers;
    var resp = await fetch(path, opts);
    if (resp.status === 401) {
      banner("This service needs a token: type it in the Token field at the top and press Save.");
    }
    return resp;
  }
  async function apiJson(path, opts) {
    var resp = await api(path, opts);
    var body = null;
    try { body = await resp.json(); } catch (e) { body = null; }
    return {ok: resp.ok, status: resp.status, body: body};
  }
  function fileUrl(jobId, path) {
    return "/api/v1/jobs/" + encodeURIComponent(jobId) + "/files/" + path.split("/").map(encodeURIComponent).join("/");
  }
  /* A job file as a blob: URL, so it can be shown or downloaded when the API needs a bearer header. */
  async function blobUrl(url, type) {
    var resp = await api(url);
    if (!resp.ok) throw new Error("HTTP " + resp.status);
    var blob = await resp.blob();
    if (type) blob = new Blob([blob], {type: type});
    return URL.createObjectURL(blob);
  }

  function fmtTime(iso) {
    if (!iso) return "–";
    var d = new Date(iso);
    return isNaN(d) ? iso : d.toLocaleString();
  }
  function fmtDuration(s) {
    if (s === null || s === undefined) return "–";
    if (s < 60) return s.toFixed(1) + " s";
    var m = Math.floor(s / 60);
    return m + " min " + Math.round(s - 60 * m) + " s";
  }
  function fmtSize(n) {
    if (n < 1024) return n + " B";
    if (n < 1048576) return (n / 1024).toFixed(1) + " KiB";
    return (n / 1048576).toFixed(1) + " MiB";
  }
  function stateBadge(state) { return el("span", {"class": "badge state-" + state, "data-state": state}, state); }
  function progressCell(p) {
    var wrap = el("div", {"class": "progress small"});
    var bar = el("div", {"class": "bar"});
    var pct = p && p.percent !== null && p.percent !== undefined ? p.percent : null;
    bar.style.width = (pct === null ? 0 : pct) + "%";
    wrap.appendChild(bar);
    var td = el("td");
    td.appendChild(wrap);
    td.appendChild(el("span", {"class": "muted progress-text"},
      p ? p.done + " / " + (p.total === null ? "?" : p.total) + (pct === null ? "" : " (" + pct.toFixed(0) + "%)") : ""));
    return td;
  }

  /* ---------- token field ---------- */
  function initToken() {
    var form = document.getElementById("token-form");
    var input = document.getElementById("token-input");
    var state = document.getElementById("token-state");
    input.value = token();
    state.textContent = token() ? "saved" : "";
    form.addEventListener("submit", function (ev) {
      ev.preventDefault();
      setToken(input.value.trim());
      state.textContent = input.value.trim() ? "saved" : "cleared";
      banner(null);
      document.dispatchEvent(new Event("token-changed"));
    });
  }

  /* ---------- index: job list ---------- */
  function initJobs() {
    var tbody = document.querySelector("#jobs-table tbody");
    var count = document.getElementById("jobs-count");
    var empty = document.getElementById("jobs-empty");
    var stateFilter = document.getElementById("jobs-state");
    var timer = null;

    async function load() {
      clearTimeout(timer);
      var q = "/api/v1/jobs?limit=100" + (stateFilter.value ? "&state=" + encodeURIComponent(stateFilter.value) : "");
      var res;
      try { res = await apiJson(q); } catch (e) { res = {ok: false}; }
      var active = false;
      if (res.ok && res.body) {
        clear(tbody);
        res.body.items.forEach(function (job) {
          if (FINAL.indexOf(job.state) < 0) active = true;
          var tr = el("tr", {"data-job-id": job.id, "data-state": job.state});
          var tdId = el("td");
          tdId.appendChild(el("a", {href: "/jobs/" + encodeURIComponent(job.id)}, job.id));
          tr.appendChild(tdId);
          tr.appendChild(el("td", null, job.kind));
          tr.appendChild(el("td", null, (job.config && job.config.model) || "–"));
          var tdState = el("td");
          tdState.appendChild(stateBadge(job.state));
          tr.appendChild(tdState);
          tr.appendChild(progressCell(job.progress));
          tr.appendChild(el("td", null, fmtTime(job.created_at)));
          tr.appendChild(el("td", {"class": "num"}, fmtDuration(job.duration_s)));
          var tdAct = el("td");
          if (job.state === "queued" || job.state === "running") {
            var b = el("button", {type: "button", "class": "small"}, "Cancel");
            b.addEventListener("click", async function () {
              await apiJson("/api/v1/jobs/" + encodeURIComponent(job.id) + "/cancel", {method: "POST"});
              load();
            });
            tdAct.appendChild(b);
          }
          tr.appendChild(tdAct);
          tbody.appendChild(tr);
        });
        count.textContent = res.body.total + " job" + (res.body.total === 1 ? "" : "s");
        empty.hidden = res.body.items.length > 0;
      }
      timer = setTimeout(load, active ? 1000 : 4000);
    }
    stateFilter.addEventListener("change", load);
    document.addEventListener("token-changed", load);
    load();
  }

  /* ---------- index: forms ---------- */
  function merge(into, extra) {
    Object.keys(extra).forEach(function (k) {
      var v = extra[k];
      if (v && typeof v === "object" && !Array.isArray(v) && into[k] && typeof into[k] === "object" && !Array.isArray(into[k])) {
        merge(into[k], v);
      } else {
        into[k] = v;
      }
    });
    return into;
  }
  function numbers(text) {
    return String(text).split(/[\s,]+/).filter(Boolean).map(function (v) { return Number(v); });
  }
  function formBody(form) {
    var f = form.elements;
    var kind = form.getAttribute("data-kind");
    var body = {model: f.model.value.trim(), api: f.api.value};
    if (f.api_key.value) body.api_key = f.api_key.value;
    if (kind === "eval") {
      body.api_url = f.api_url.value.trim();
      body.datasets = f.datasets.value.split(/[\s,]+/).filter(Boolean);
      if (f.limit.value) body.limit = Number(f.limit.value);
      if (f.eval_batch_size.value) body.eval_batch_size = Number(f.eval_batch_size.value);
      var gen = {};
      if (f.max_tokens.value) gen.max_tokens = Number(f.max_tokens.value);
      if (f.temperature.value) gen.temperature = Number(f.temperature.value);
      if (Object.keys(gen).length) body.generation_config = gen;
    } else {
      body.url = f.url.value.trim();
      body.parallel = numbers(f.parallel.value);
      body.number = numbers(f.number.value);
      if (f.rate.value) body.rate = Number(f.rate.value);
      body.dataset = f.dataset.value;
      if (f.prompt.value) body.prompt = f.prompt.value;
      if (f.max_tokens.value) body.max_tokens = Number(f.max_tokens.value);
      body.stream = f.stream.checked;
    }
    if (f.extra.value.trim()) {
      var extra;
      try { extra = JSON.parse(f.extra.value); } catch (e) { throw new Error("More fields: not valid JSON (" + e.message + ")"); }
      if (!extra || typeof extra !== "object" || Array.isArray(extra)) throw new Error("More fields: give a JSON object");
      merge(body, extra);
    }
    return body;
  }
  function initForms() {
    document.querySelectorAll("form.job-form").forEach(function (form) {
      var status = form.querySelector(".form-status");
      form.addEventListener("submit", async function (ev) {
        ev.preventDefault();
        status.className = "form-status";
        var body;
        try { body = formBody(form); } catch (e) { status.textContent = e.message; status.className = "form-status error-text"; return; }
        status.textContent = "submitting…";
        var res;
        try {
          res = await apiJson("/api/v1/jobs/" + form.getAttribute("data-kind"), {
            method: "POST", headers: {"Content-Type": "application/json"}, body: JSON.stringify(body)});
        } catch (e) {
          status.textContent = "network error: " + e.message; status.className = "form-status error-text"; return;
        }
        if (res.ok && res.body && res.body.id) {
          status.textContent = "queued as " + res.body.id;
          window.location.href = "/jobs/" + encodeURIComponent(res.body.id);
          return;
        }
        var msg = (res.body && res.body.message) || ("HTTP " + res.status);
        if (res.body && res.body.errors) {
          msg += " — " + res.body.errors.map(function (e) { return e.field + ": " + e.reason; }).join("; ");
        }
        status.textContent = msg;
        status.className = "form-status error-text";
      });
    });
  }

  /* ---------- job page ---------- */
  function initJob() {
    var root = document.getElementById("job-root");
    var jobId = root.getAttribute("data-job-id");
    var base = "/api/v1/jobs/" + encodeURIComponent(jobId);
    var shownReports = "";
    var currentBlob = null;
    var timer = null;

    function info(job) {
      var kv = document.getElementById("job-info");
      clear(kv);
      var items = [["Kind", job.kind], ["Model", (job.config && job.config.model) || "–"],
        ["Created", fmtTime(job.created_at)], ["Started", fmtTime(job.started_at)],
        ["Finished", fmtTime(job.finished_at)], ["Duration", fmtDuration(job.duration_s)],
        ["Attempts", job.attempts], ["Output folder", job.output_dir]];
      items.forEach(function (it) { kv.appendChild(el("div", null, it[0])); kv.appendChild(el("div", null, it[1])); });
    }
    function render(job) {
      document.getElementById("job-kind").textContent = job.kind;
      var st = document.getElementById("job-state");
      st.textContent = job.state; st.className = "badge state-" + job.state; st.setAttribute("data-state", job.state);
      var p = job.progress || {};
      document.getElementById("job-progress-bar").style.width = (p.percent || (job.state === "succeeded" ? 100 : 0)) + "%";
      document.getElementById("job-progress-text").textContent =
        (p.done || 0) + " / " + (p.total === null || p.total === undefined ? "?" : p.total) + " done" +
        (p.percent === null || p.percent === undefined ? "" : " (" + p.percent.toFixed(1) + "%)");
      var err = document.getElementById("job-error");
      err.hidden = !job.error;
      err.textContent = job.error || "";
      document.getElementById("job-config").textContent = JSON.stringify(job.config, null, 2);
      document.getElementById("job-cancel").hidden = !(job.state === "queued" || job.state === "running");
      document.getElementById("job-resume").hidden = ["failed", "cancelled", "interrupted"].indexOf(job.state) < 0;
      info(job);
    }
    async function showReport(path) {
      var frame = document.getElementById("report-frame");
      var open = document.getElementById("report-open");
      document.querySelectorAll("#report-tabs button").forEach(function (b) {
        b.classList.toggle("active", b.getAttribute("data-path") === path);
      });
      try {
        var url = await blobUrl(fileUrl(jobId, path), "text/html");
        if (currentBlob) URL.revokeObjectURL(currentBlob);
        currentBlob = url;
        frame.src = url;
        frame.hidden = false;
        frame.setAttribute("data-path", path);
        open.href = url; open.hidden = false;
        document.getElementById("report-none").hidden = true;
      } catch (e) {
        document.getElementById("report-none").textContent = "Could not load " + path + ": " + e.message;
      }
    }
    async function loadFiles() {
      var res = await apiJson(base + "/files");
      if (!res.ok || !res.body) return;
      var tbody = document.querySelector("#files-table tbody");
      clear(tbody);
      document.getElementById("files-dir").textContent = res.body.output_dir;
      var reports = [];
      res.body.files.forEach(function (f) {
        var tr = el("tr");
        var td = el("td");
        var a = el("a", {href: fileUrl(jobId, f.path), "data-path": f.path}, f.path);
        a.addEventListener("click", async function (ev) {
          if (!token()) return;  // no auth: the plain link works
          ev.preventDefault();
          var url = await blobUrl(fileUrl(jobId, f.path));
          var dl = el("a", {href: url, download: f.path.split("/").pop()});
          document.body.appendChild(dl); dl.click(); dl.remove();
        });
        td.appendChild(a);
        tr.appendChild(td);
        tr.appendChild(el("td", {"class": "num"}, fmtSize(f.size)));
        tbody.appendChild(tr);
        if (/(^|\/)report\.html$/.test(f.path)) reports.push(f.path);
      });
      var key = reports.join("|");
      if (key && key !== shownReports) {
        shownReports = key;
        var tabs = document.getElementById("report-tabs");
        clear(tabs);
        if (reports.length > 1) {
          reports.forEach(function (p) {
            var b = el("button", {type: "button", "class": "small tab", "data-path": p}, p);
            b.addEventListener("click", function () { showReport(p); });
            tabs.appendChild(b);
          });
        }
        showReport(reports[0]);
      }
    }
    async function poll() {
      clearTimeout(timer);
      var res;
      try { res = await apiJson(base); } catch (e) { res = {ok: false}; }
      if (res.status === 404) { banner("Job " + jobId + " not found."); return; }
      if (res.ok && res.body) {
        render(res.body);
        if (FINAL.indexOf(res.body.state) >= 0) { await loadFiles(); return; }
      }
      timer = setTimeout(poll, 1000);
    }
    document.getElementById("job-cancel").addEventListener("click", async function () {
      await apiJson(base + "/cancel", {method: "POST"}); poll();
    });
    document.getElementById("job-resume").addEventListener("click", async function () {
      var res = await apiJson(base + "/resume", {method: "POST", headers: {"Content-Type": "application/json"}, body: "{}"});
      if (!res.ok) banner((res.body && res.body.message) || "resume failed");
      shownReports = ""; poll();
    });
    document.addEventListener("token-changed", function () { shownReports = ""; poll(); });
    poll();
  }

  document.addEventListener("DOMContentLoaded", function () {
    initToken();
    var page = document.body.getAttribute("data-page");
    if (page === "index") { initJobs(); initForms(); }
    if (page === "job") initJob();
  });
})();
