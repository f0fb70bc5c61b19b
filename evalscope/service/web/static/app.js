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
  /* A list's time: "14:05:09" today, "Nov 29, 14:05" before (the full time is the cell's title). */
  function fmtShortTime(iso) {
    if (!iso) return "–";
    var d = new Date(iso);
    if (isNaN(d)) return iso;
    var today = new Date().toDateString() === d.toDateString();
    return today ? d.toLocaleTimeString([], {hour: "2-digit", minute: "2-digit", second: "2-digit"}) :
      d.toLocaleDateString([], {month: "short", day: "numeric"}) + ", " + d.toLocaleTimeString([], {hour: "2-digit", minute: "2-digit"});
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
  function progressCell(p, state) {
    var wrap = el("div", {"class": "progress small"});
    var bar = el("div", {"class": "bar bar-" + (state || "running")});  // a failed job's bar is red
    var pct = p && p.percent !== null && p.percent !== undefined ? p.percent : null;
    bar.style.width = (pct === null ? 0 : pct) + "%";
    wrap.appendChild(bar);
    var td = el("td", {"class": "nowrap"});
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

  /* ---------- outcome: a job's headline (JobOut.summary) ---------- */
  /* The badge says how the job ended; green only for a run that finished with no failure at all. */
  function outcomeOf(job) { return (job.summary && job.summary.outcome) || job.state; }
  function outcomeBadge(job) {
    var o = outcomeOf(job);
    var text = job.state;
    if (o === "errors") {
      var n = job.summary.errors;
      text = "succeeded · " + (n ? n + (n === 1 ? " error" : " errors") : job.summary.warnings + " warning" + (job.summary.warnings === 1 ? "" : "s"));
    }
    return el("span", {"class": "badge outcome-" + o, "data-state": job.state, "data-outcome": o}, text);
  }
  function fmtScore(v) { return v === null || v === undefined ? "n/a" : (100 * v).toFixed(1) + "%"; }
  function fmtMs(s) {
    if (s === null || s === undefined) return "–";
    var ms = 1000 * s;
    return (ms >= 100 ? ms.toFixed(0) : ms >= 10 ? ms.toFixed(1) : ms.toFixed(2)) + " ms";
  }
  function fmtNum(v, digits) { return v === null || v === undefined ? "–" : Number(v).toFixed(digits); }
  /* The headline as DOM: eval "gsm8k 66.7%" per benchmark; perf best req/s, p99 TTFT, failures. */
  function headline(job) {
    var s = job.summary || {};
    var box = el("span", {"class": "headline-cells"});
    if (job.kind === "eval" && s.scores && s.scores.length) {
      s.scores.forEach(function (b) {
        var c = el("span", {"class": "score" + (b.score === null ? " bad" : ""), "data-benchmark": b.benchmark,
          title: b.metric + " over " + b.samples + " samples" + (b.errors ? ", " + b.errors + " failed" : "")});
        c.appendChild(el("span", {"class": "muted"}, b.benchmark + " "));
        c.appendChild(el("b", null, fmtScore(b.score)));
        if (b.errors) c.appendChild(el("span", {"class": "bad"}, " (" + b.errors + " err)"));
        box.appendChild(c);
      });
    } else if (job.kind === "perf" && s.perf && s.perf.capacity) {
      /* an SLO search: the load it found (and what that load measured), marked when not statistically clear */
      var cap = s.perf.capacity;
      var found = el("span", {"class": "score" + (cap.value === null ? " bad" : ""), "data-metric": "capacity",
        "data-clear": cap.clear ? "1" : "0", title: (cap.slo ? "SLO " + cap.slo + "; " : "") + "stopped: " + cap.stop_reason});
      found.appendChild(el("span", {"class": "muted"}, "capacity "));
      found.appendChild(el("b", null, cap.value === null ? "none" : cap.value + " " + cap.unit));
      if (cap.throughput_rps !== null && cap.throughput_rps !== undefined) {
        found.appendChild(el("span", {"class": "muted"}, " · " + fmtNum(cap.throughput_rps, 2) + " req/s"));
      }
      if (!cap.clear) found.appendChild(el("span", {"class": "muted", title: "decided by the estimates, not the confidence intervals"}, " (not clear)"));
      box.appendChild(found);
      box.appendChild(el("span", {"class": "score" + (s.perf.failed ? " bad" : ""), "data-metric": "failed"},
        s.perf.failed + " failed"));
    } else if (job.kind === "perf" && s.perf && s.perf.points) {
      var p = s.perf;
      var best = el("span", {"class": "score", "data-metric": "best_rps"});
      best.appendChild(el("b", null, fmtNum(p.best_rps, 2) + " req/s"));
      best.appendChild(el("span", {"class": "muted"}, p.concurrency ? " @c=" + p.concurrency : ""));
      box.appendChild(best);
      box.appendChild(el("span", {"class": "score", "data-metric": "p99_ttft"}, "p99 TTFT " + fmtMs(p.p99_ttft_s)));
      box.appendChild(el("span", {"class": "score" + (p.failed ? " bad" : ""), "data-metric": "failed"},
        p.failed + " failed"));
    }
    if (!box.childNodes.length && job.state === "failed" && job.error) {
      box.appendChild(el("span", {"class": "bad", title: job.error}, job.error.split("\n")[0].slice(0, 120)));
    }
    return box;
  }

  /* ---------- index: job list ---------- */
  function initJobs() {
    var tbody = document.querySelector("#jobs-table tbody");
    var count = document.getElementById("jobs-count");
    var empty = document.getElementById("jobs-empty");
    var stateFilter = document.getElementById("jobs-state");
    var bar = document.getElementById("compare-bar");
    var picked = [];  // [{id, kind, name}] in the order ticked: A then B
    var timer = null;

    function syncCompare() {
      bar.hidden = picked.length === 0;
      var status = document.getElementById("compare-status");
      var go = document.getElementById("compare-go");
      var sameKind = picked.length === 2 && picked[0].kind === picked[1].kind;
      go.disabled = !sameKind;
      status.textContent = picked.length < 2 ? "tick one more finished job" :
        sameKind ? "" : "pick two jobs of the same kind";
      var la = document.getElementById("compare-label-a"), lb = document.getElementById("compare-label-b");
      la.placeholder = picked[0] ? picked[0].name : "label of A";
      lb.placeholder = picked[1] ? picked[1].name : "label of B";
    }
    document.getElementById("compare-go").addEventListener("click", function () {
      if (picked.length !== 2) return;
      var la = document.getElementById("compare-label-a").value.trim() || picked[0].name;
      var lb = document.getElementById("compare-label-b").value.trim() || picked[1].name;
      window.location.href = "/compare?a=" + encodeURIComponent(picked[0].id) + "&b=" + encodeURIComponent(picked[1].id) +
        "&la=" + encodeURIComponent(la.slice(0, 80)) + "&lb=" + encodeURIComponent(lb.slice(0, 80));
    });

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
          var name = (job.summary && job.summary.name) || job.id;
          var tr = el("tr", {"data-job-id": job.id, "data-state": job.state, "data-outcome": outcomeOf(job)});
          var tdPick = el("td", {"class": "pick"});
          if (FINAL.indexOf(job.state) >= 0 && (job.kind === "eval" || job.kind === "perf")) {
            var box = el("input", {type: "checkbox", "class": "pick-job", title: "compare this job", "aria-label": "compare " + name});
            box.checked = picked.some(function (p) { return p.id === job.id; });
            box.addEventListener("change", function () {
              picked = picked.filter(function (p) { return p.id !== job.id; });
              if (box.checked) {
                picked.push({id: job.id, kind: job.kind, name: name});
                if (picked.length > 2) picked.shift();
                load();
              }
              syncCompare();
            });
            tdPick.appendChild(box);
          }
          tr.appendChild(tdPick);
          var tdName = el("td", {"class": "name"});
          tdName.appendChild(el("span", {"class": "kind kind-" + job.kind}, job.kind));
          tdName.appendChild(el("a", {href: "/jobs/" + encodeURIComponent(job.id), title: job.id}, name));
          tr.appendChild(tdName);
          var tdState = el("td");
          tdState.appendChild(outcomeBadge(job));
          tr.appendChild(tdState);
          var tdRes = el("td", {"class": "result"});
          tdRes.appendChild(headline(job));
          tr.appendChild(tdRes);
          tr.appendChild(progressCell(job.progress, job.state));
          tr.appendChild(el("td", {"class": "nowrap", title: fmtTime(job.created_at)}, fmtShortTime(job.created_at)));
          tr.appendChild(el("td", {"class": "num"}, fmtDuration(job.duration_s)));
          var tdAct = el("td");
          if (job.state === "queued" || job.state === "running") {
            var b = el("button", {type: "button", "class": "small danger"}, "Cancel");
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
  var FORM_FIELDS = {
    eval: ["model", "api_url", "api", "datasets", "limit", "eval_batch_size", "generation_config"],
    perf: ["model", "url", "api", "parallel", "number", "rate", "dataset", "prompt", "dataset_path",
      "tokenizer_path", "max_tokens", "stream"]
  };
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
      if (f.limit.value) body.limit = Number(f.limit.value);  // a fraction (0.1) is a share of each dataset
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
      if (f.dataset_path.value.trim()) body.dataset_path = f.dataset_path.value.trim();
      if (f.tokenizer_path.value.trim()) body.tokenizer_path = f.tokenizer_path.value.trim();
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
  /* One message per problem: the field errors when the answer lists them, else its message (the
     message repeats the same fields, so showing both said everything twice). */
  function errorText(res) {
    var b = res.body || {};
    if (b.errors && b.errors.length) {
      return b.errors.map(function (e) { return e.field + ": " + e.reason; }).join("; ");
    }
    return b.message || ("HTTP " + res.status);
  }
  /* Re-run with changes: /?rerun=<job id> fills that kind's form from the job's stored config (the
     fields the form has; the others that differ from the defaults go to "More fields"). */
  async function prefill(jobId) {
    var res = await apiJson("/api/v1/jobs/" + encodeURIComponent(jobId));
    if (!res.ok || !res.body) { banner("Re-run: job " + jobId + " not found."); return; }
    var job = res.body, cfg = Object.assign({}, job.config || {});
    var form = document.querySelector("form.job-form[data-kind='" + job.kind + "']");
    if (!form) { banner("Re-run: only eval and perf jobs have a form."); return; }
    var f = form.elements;
    var defaults = {};
    try { defaults = JSON.parse(document.getElementById("form-defaults").textContent)[job.kind] || {}; } catch (e) { defaults = {}; }
    function set(name, v) { if (f[name] !== undefined && v !== null && v !== undefined) f[name].value = Array.isArray(v) ? v.join(" ") : String(v); }
    set("model", cfg.model); set("api", cfg.api);
    if (job.kind === "eval") {
      set("api_url", cfg.api_url); set("datasets", cfg.datasets); set("limit", cfg.limit);
      set("eval_batch_size", cfg.eval_batch_size);
      var gen = Object.assign({}, cfg.generation_config || {});
      set("max_tokens", gen.max_tokens); set("temperature", gen.temperature);
      delete gen.max_tokens; delete gen.temperature;
      cfg.generation_config = gen;
    } else {
      ["url", "parallel", "number", "dataset", "prompt", "dataset_path", "tokenizer_path", "max_tokens"].forEach(function (k) { set(k, cfg[k]); });
      if (cfg.rate !== null && cfg.rate !== undefined && cfg.rate > 0) set("rate", cfg.rate);
      f.stream.checked = cfg.stream !== false;
    }
    var extra = {};
    Object.keys(cfg).forEach(function (k) {
      if (FORM_FIELDS[job.kind].indexOf(k) >= 0 && k !== "generation_config") return;
      if (k === "api_key" || k === "headers") return;  // secrets are never stored: typed again
      var dflt = defaults[k];
      if (k === "generation_config") {
        var diff = {};
        Object.keys(cfg[k]).forEach(function (g) {
          if (JSON.stringify(cfg[k][g]) !== JSON.stringify((dflt || {})[g])) diff[g] = cfg[k][g];
        });
        if (Object.keys(diff).length) extra[k] = diff;
        return;
      }
      if (JSON.stringify(cfg[k]) !== JSON.stringify(dflt)) extra[k] = cfg[k];
    });
    f.extra.value = Object.keys(extra).length ? JSON.stringify(extra, null, 1) : "";
    var status = form.querySelector(".form-status");
    status.className = "form-status";
    status.textContent = "filled from job " + jobId + (job.config && job.config.api_key === undefined ? " (type the API key again if the model needs one)" : "");
    form.scrollIntoView();
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
        status.textContent = errorText(res);
        status.className = "form-status error-text";
      });
    });
    var rerun = new URLSearchParams(window.location.search).get("rerun");
    if (rerun) {
      prefill(rerun);
      document.addEventListener("token-changed", function () { prefill(rerun); });
    }
  }

  /* ---------- reports in a frame without a second scrollbar ---------- */
  /* The report runs in a sandboxed frame (no access to this page or its token); a small script added
     to it posts its height, and the frame takes that height, so the page scrolls as one. It also
     redraws the plots when the frame's width changes. */
  var SIZER = "<script>(function(){var last=0;function h(){var d=document.documentElement,b=document.body;" +
    "var v=Math.max(d.scrollHeight,b?b.scrollHeight:0);if(Math.abs(v-last)>2){last=v;parent.postMessage({evalscopeReportHeight:v},'*');}}" +
    "window.addEventListener('load',h);window.addEventListener('resize',function(){if(window.Plotly&&window.Plotly.Plots){" +
    "document.querySelectorAll('.js-plotly-plot').forEach(function(p){try{window.Plotly.Plots.resize(p);}catch(e){}});}h();});" +
    "if(window.ResizeObserver){new ResizeObserver(h).observe(document.documentElement);}setTimeout(h,200);})();<\/script>";
  function sizedFrame(frame) {
    window.addEventListener("message", function (ev) {
      if (ev.source !== frame.contentWindow || !ev.data || typeof ev.data.evalscopeReportHeight !== "number") return;
      frame.style.height = Math.min(Math.max(ev.data.evalscopeReportHeight + 4, 200), 200000) + "px";
    });
  }
  async function showHtml(frame, resp) {
    var text = await resp.text();
    var i = text.lastIndexOf("</body>");
    text = i >= 0 ? text.slice(0, i) + SIZER + text.slice(i) : text + SIZER;
    var url = URL.createObjectURL(new Blob([text], {type: "text/html"}));
    frame.src = url;
    frame.hidden = false;
    return url;
  }

  /* ---------- server-sent events with the bearer header (EventSource cannot send one) ---------- */
  function follow(url, handlers) {
    var stopped = false, ctrl = null;
    async function run() {
      while (!stopped) {
        var ended = false;
        try {
          var headers = {"Accept": "text/event-stream"};
          if (token()) headers["Authorization"] = "Bearer " + token();
          ctrl = new AbortController();
          var resp = await fetch(url, {headers: headers, signal: ctrl.signal});
          if (resp.status === 401) { banner("This service needs a token: type it in the Token field at the top and press Save."); return; }
          if (!resp.ok || !resp.body) throw new Error("HTTP " + resp.status);
          var reader = resp.body.getReader(), dec = new TextDecoder(), buf = "";
          for (;;) {
            var chunk = await reader.read();
            if (chunk.done) break;
            buf += dec.decode(chunk.value, {stream: true});
            var k;
            while ((k = buf.indexOf("\n\n")) >= 0) {
              var block = buf.slice(0, k); buf = buf.slice(k + 2);
              var name = "message", data = [];
              block.split("\n").forEach(function (line) {
                if (line.indexOf("event: ") === 0) name = line.slice(7);
                else if (line.indexOf("data: ") === 0) data.push(line.slice(6));
              });
              if (!data.length) continue;
              var payload;
              try { payload = JSON.parse(data.join("\n")); } catch (e) { continue; }
              if (name === "end") ended = true;
              if (handlers[name]) handlers[name](payload);
            }
          }
        } catch (e) {
          if (stopped) return;
        }
        if (ended || stopped) return;
        await new Promise(function (r) { setTimeout(r, 2000); });  // the stream broke: follow again
      }
    }
    run();
    return function () { stopped = true; if (ctrl) ctrl.abort(); };
  }

  /* ---------- job page ---------- */
  function fillTable(tbody, rows) {
    clear(tbody);
    rows.forEach(function (cells) {
      var tr = el("tr");
      cells.forEach(function (c, i) {
        var td = el("td", {"class": i ? "num" : ""}, c && c.text !== undefined ? c.text : c);
        if (c && c.cls) td.className += " " + c.cls;
        if (c && c.attr) Object.keys(c.attr).forEach(function (a) { td.setAttribute(a, c.attr[a]); });
        tr.appendChild(td);
      });
      tbody.appendChild(tr);
    });
  }
  function errorRows(tableId, reasons) {
    var table = document.getElementById(tableId);
    var keys = Object.keys(reasons || {});
    fillTable(table.querySelector("tbody"), keys.map(function (k) { return [k, {text: reasons[k], cls: "bad", attr: {"data-reason": k}}]; }));
    table.hidden = !keys.length;
    table.parentNode.querySelector(".none-yet").hidden = keys.length > 0;
  }
  function configRows(cfg) {
    var tbody = document.querySelector("#job-config tbody");
    clear(tbody);
    Object.keys(cfg || {}).forEach(function (k) {
      var v = cfg[k];
      if (v === null || v === undefined || v === "" || (Array.isArray(v) && !v.length) ||
          (typeof v === "object" && !Array.isArray(v) && !Object.keys(v).length)) return;
      var text = typeof v === "object" ? JSON.stringify(v) : String(v);
      var tr = el("tr");
      tr.appendChild(el("th", null, k));
      tr.appendChild(el("td", {"class": "mono"}, text));
      tbody.appendChild(tr);
    });
  }
  function initJob() {
    var root = document.getElementById("job-root");
    var jobId = root.getAttribute("data-job-id");
    var base = "/api/v1/jobs/" + encodeURIComponent(jobId);
    var shownReports = "";
    var currentBlob = null;
    var lastJob = null, lastLive = null, stop = null;
    var frame = document.getElementById("report-frame");
    sizedFrame(frame);

    function info(job) {
      var kv = document.getElementById("job-info");
      clear(kv);
      var items = [["Job id", job.id], ["Kind", job.kind], ["Model", (job.config && job.config.model) || "–"],
        ["Created", fmtTime(job.created_at)], ["Started", fmtTime(job.started_at)],
        ["Finished", fmtTime(job.finished_at)], ["Duration", fmtDuration(job.duration_s)],
        ["Attempts", job.attempts], ["Output folder", job.output_dir]];
      items.forEach(function (it) { kv.appendChild(el("div", null, it[0])); kv.appendChild(el("div", null, it[1])); });
    }
    /* Resume continues a run in its folder: offered when the run got somewhere (cancelled,
       interrupted, or failed after writing something); a job that failed while loading (bad dataset,
       unreachable model) would only fail again: "Re-run with changes" is the way there. */
    function resumable(job) {
      if (job.state === "cancelled" || job.state === "interrupted") return true;
      return job.state === "failed" && (job.result !== null || (job.progress && job.progress.done > 0));
    }
    function render(job) {
      lastJob = job;
      var name = (job.summary && job.summary.name) || job.id;
      var h = document.getElementById("job-name");
      clear(h); h.appendChild(document.createTextNode(name));
      document.title = name + " · EvalScope";
      document.getElementById("job-kind").textContent = job.kind;
      var st = document.getElementById("job-state");
      var badge = outcomeBadge(job);
      st.textContent = badge.textContent; st.className = badge.className;
      st.setAttribute("data-state", job.state); st.setAttribute("data-outcome", badge.getAttribute("data-outcome"));
      var p = job.progress || {};
      var barEl = document.getElementById("job-progress-bar");
      barEl.style.width = (p.percent || (job.state === "succeeded" ? 100 : 0)) + "%";
      barEl.className = "bar bar-" + outcomeOf(job);
      document.getElementById("job-progress-text").textContent =
        (p.done || 0) + " / " + (p.total === null || p.total === undefined ? "?" : p.total) + " done" +
        (p.percent === null || p.percent === undefined ? "" : " (" + p.percent.toFixed(1) + "%)");
      var hl = document.getElementById("job-headline");
      clear(hl); hl.appendChild(headline(job));
      var err = document.getElementById("job-error");
      err.hidden = !job.error;
      err.textContent = job.error || "";
      configRows(job.config);
      document.getElementById("job-config-json").textContent = JSON.stringify(job.config, null, 2);
      document.getElementById("job-cancel").hidden = !(job.state === "queued" || job.state === "running");
      document.getElementById("job-resume").hidden = !resumable(job);
      var rr = document.getElementById("job-rerun");
      rr.hidden = !(job.kind === "eval" || job.kind === "perf") || FINAL.indexOf(job.state) < 0;
      rr.href = "/?rerun=" + encodeURIComponent(job.id) + "#new-" + job.kind;
      info(job);
      var none = document.getElementById("report-none");
      var partial = FINAL.indexOf(job.state) >= 0 && job.summary ? job.summary.partial_report : null;
      if (!shownReports) {
        none.textContent = FINAL.indexOf(job.state) < 0 ? "The report appears here when the job has written it." :
          job.state === "succeeded" ? "This job wrote no report." : noReportText(job, partial);
      }
      partialNote(job, partial);
      renderLive();
    }
    /* A job that stopped midway gets a partial report from the service (what its run finished): say
       so while it is written, link it once it is, or say why there is none. */
    function stoppedWord(state) {
      return state === "failed" ? "failed" : "was " + state;
    }
    function noReportText(job, partial) {
      var live = lastLive ? "; its last live state is above." : ".";
      if (partial && partial.status === "writing") {
        return "Writing a partial report of what the run finished before it " + stoppedWord(job.state) + "…";
      }
      if (partial && partial.status === "written") return "Loading the partial report…";
      if (partial && partial.status === "none" && partial.reason) return "No report: " + partial.reason + live;
      return "No report: the job " + job.state + (job.state === "failed" ? " before writing one" : " before its run finished") + live;
    }
    var partialPoll = null;
    function partialNote(job, partial) {
      var note = document.getElementById("report-partial");
      clear(note);
      note.hidden = !(partial && partial.status === "written");
      if (!note.hidden) {
        note.appendChild(el("strong", null, "Partial report"));
        note.appendChild(document.createTextNode(": " + partial.text + ". It holds what the run finished before it " +
          stoppedWord(job.state) + "; resume the job to finish it. "));
        var link = el("a", {href: "#report-frame", id: "report-partial-link"}, "See it below");
        note.appendChild(link);
        if (!shownReports) loadFiles();
      }
      // while it is written: read the job again (its events stream ended with the job)
      if (partial && partial.status === "writing" && !partialPoll) {
        var tries = 0;
        partialPoll = setInterval(async function () {
          tries += 1;
          var res = await apiJson(base);
          var pr = res.ok && res.body && res.body.summary ? res.body.summary.partial_report : null;
          if (!pr || pr.status !== "writing" || tries > 180 || FINAL.indexOf(res.body.state) < 0) {
            clearInterval(partialPoll); partialPoll = null;
            if (res.ok && res.body) { render(res.body); await loadFiles(); render(res.body); }
          }
        }, 1000);
      }
    }
    function renderLive() {
      var card = document.getElementById("job-live");
      var job = lastJob, state = lastLive;
      var live = state && state.live;
      if (!job || !live || job.state === "succeeded" || job.state === "queued") { card.hidden = !(job && job.state === "running" && live); if (card.hidden) return; }
      card.hidden = false;
      var running = job.state === "running";
      document.getElementById("live-title").textContent = running ? "Live" : "Last live state (" + job.state + ", partial)";
      document.getElementById("live-elapsed").textContent = fmtDuration(live.elapsed_s);
      document.getElementById("live-remaining").textContent = running && live.remaining_s !== null ? "~" + fmtDuration(live.remaining_s) : "–";
      var where = document.getElementById("live-where");
      if (live.kind === "perf") {
        document.getElementById("live-perf").hidden = false;
        var pt = live.point || {};
        var sr = live.search;
        if (sr) {  /* an SLO search: the load being measured, the answer so far, the request budget */
          where.textContent = "capacity search (" + sr.search + ", " + sr.slo + "): " +
            (sr.load === null ? "starting" : running ? "now " + sr.load + " " + sr.unit + " (" + sr.phase + ", round " + sr.round + " of at most " + sr.max_rounds + ")" : "stopped: " + sr.stop_reason) +
            " · passing so far: " + (sr.capacity === null ? "none" : sr.capacity) + (sr.failing_load === null ? "" : ", failing: " + sr.failing_load) +
            " · " + sr.requests + " / " + sr.budget_requests + " requests";
        } else {
          where.textContent = pt.key ? "point " + pt.index + " of " + pt.of + ": " + pt.key + " (concurrency " + pt.parallel + ") · " +
            pt.done + " / " + pt.number + " requests" : "";
        }
        document.getElementById("live-rps").textContent = fmtNum(pt.rps, 2);
        document.getElementById("live-toks").textContent = fmtNum(pt.tok_s, 1);
        document.getElementById("live-ttft").textContent = fmtMs(pt.ttft_p50) + " / " + fmtMs(pt.ttft_p99);
        document.getElementById("live-itl").textContent = fmtMs(pt.itl_p50) + " / " + fmtMs(pt.itl_p99);
        document.getElementById("live-latency").textContent = fmtMs(pt.latency_p50) + " / " + fmtMs(pt.latency_p99);
        var failed = document.getElementById("live-failed");
        failed.textContent = live.failed;
        failed.className = "t-value" + (live.failed ? " bad" : "");
        fillTable(document.querySelector("#live-points tbody"), (live.points || []).map(function (q) {
          var name = q.passed === undefined ? q.key : {  /* a search's load: its verdict */
            text: "load " + q.load + " " + (q.passed ? "pass" : "fail") + (q.clear ? "" : " (estimate)") + " · " + q.key,
            cls: q.passed ? "" : "bad", attr: {"data-verdict": q.passed ? "pass" : "fail"}};
          return [name, q.parallel, fmtNum(q.rps, 2), fmtMs(q.ttft_p99), fmtMs(q.latency_p99), {text: q.failed, cls: q.failed ? "bad" : ""}];
        }));
        errorRows("live-errors", live.errors_by_reason);
      } else if (live.kind === "eval") {
        document.getElementById("live-eval").hidden = false;
        where.textContent = (live.current ? "now: " + live.current + " · " : "") + live.done + " / " + live.total + " samples";
        var benches = live.benchmarks || {};
        fillTable(document.querySelector("#live-benchmarks tbody"), Object.keys(benches).map(function (name) {
          var b = benches[name], c = b.counts || {};
          return [{text: name, cls: name === live.current && running ? "current" : "", attr: {"data-benchmark": name}},
            b.done + " / " + b.total, {text: fmtScore(b.score), attr: {"data-score": b.score === null ? "" : b.score}},
            c.correct || 0, c.wrong || 0, c.unparsed || 0, c.truncated || 0, {text: c.error || 0, cls: c.error ? "bad" : ""},
            fmtMs(b.latency_p50)];
        }));
        errorRows("live-eval-errors", live.errors_by_reason);
      }
      document.getElementById("live-log").textContent = (state.log_tail || []).join("\n");
    }
    async function showReport(path) {
      var open = document.getElementById("report-open");
      document.querySelectorAll("#report-tabs button").forEach(function (b) {
        b.classList.toggle("active", b.getAttribute("data-path") === path);
      });
      try {
        var resp = await api(fileUrl(jobId, path));
        if (!resp.ok) throw new Error("HTTP " + resp.status);
        var url = await showHtml(frame, resp);
        if (currentBlob) URL.revokeObjectURL(currentBlob);
        currentBlob = url;
        frame.setAttribute("data-path", path);
        open.href = url; open.hidden = false;
        document.getElementById("report-none").hidden = true;
      } catch (e) {
        document.getElementById("report-none").textContent = "Could not load " + path + ": " + e.message;
      }
    }
    function renderFiles(files, outputDir) {
      var tbody = document.querySelector("#files-table tbody");
      clear(tbody);
      if (outputDir) document.getElementById("files-dir").textContent = outputDir;
      var reports = [];
      files.forEach(function (f) {
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
      return reports;
    }
    async function loadFiles() {
      var res = await apiJson(base + "/files");
      if (!res.ok || !res.body) return;
      var reports = renderFiles(res.body.files, res.body.output_dir);
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
    function start() {
      if (stop) stop();
      stop = follow(base + "/events?live=1", {
        job: function (job) { render(job); },
        live: function (state) {
          lastLive = state;
          if (state.files && (!lastJob || FINAL.indexOf(lastJob.state) < 0)) renderFiles(state.files, null);
          renderLive();
        },
        end: function () { loadFiles().then(function () { if (lastJob) render(lastJob); }); }
      });
    }
    async function first() {
      var res;
      try { res = await apiJson(base); } catch (e) { res = {ok: false}; }
      if (res.status === 404) { banner("Job " + jobId + " not found."); return; }
      if (res.ok && res.body) {
        render(res.body);
        if (FINAL.indexOf(res.body.state) >= 0) {
          var lv = await apiJson(base + "/live");
          if (lv.ok && lv.body && lv.body.live) { lastLive = lv.body; }
          await loadFiles();
          render(res.body);
          return;
        }
      }
      start();
    }
    document.getElementById("job-cancel").addEventListener("click", async function () {
      await apiJson(base + "/cancel", {method: "POST"});
    });
    document.getElementById("job-resume").addEventListener("click", async function () {
      var res = await apiJson(base + "/resume", {method: "POST", headers: {"Content-Type": "application/json"}, body: "{}"});
      if (!res.ok) { banner(errorText(res)); return; }
      shownReports = ""; lastLive = null; start();
    });
    document.addEventListener("token-changed", function () { shownReports = ""; first(); });
    first();
  }

  /* ---------- comparison page ---------- */
  async function initCompare() {
    var q = new URLSearchParams(window.location.search);
    var frame = document.getElementById("report-frame");
    var none = document.getElementById("compare-none");
    sizedFrame(frame);
    var la = q.get("la") || "A", lb = q.get("lb") || "B";
    document.getElementById("compare-title").textContent = la + " vs " + lb;
    var url = "/api/v1/compare?a=" + encodeURIComponent(q.get("a") || "") + "&b=" + encodeURIComponent(q.get("b") || "") +
      "&label_a=" + encodeURIComponent(la) + "&label_b=" + encodeURIComponent(lb);
    var resp;
    try { resp = await api(url); } catch (e) { none.textContent = "network error: " + e.message; return; }
    if (!resp.ok) {
      var body = null;
      try { body = await resp.json(); } catch (e) { body = null; }
      none.textContent = errorText({status: resp.status, body: body});
      none.className = "error-text";
      return;
    }
    var blob = await showHtml(frame, resp);
    var open = document.getElementById("compare-open");
    open.href = blob; open.hidden = false;
    none.hidden = true;
  }

  document.addEventListener("DOMContentLoaded", function () {
    initToken();
    var page = document.body.getAttribute("data-page");
    if (page === "index") { initJobs(); initForms(); }
    if (page === "job") initJob();
    if (page === "compare") {
      initCompare();
      document.addEventListener("token-changed", initCompare);
    }
  });
})();
