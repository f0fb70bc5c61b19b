/* Renders the report's figures (plotly.js, inlined above) and the sample browser.
   Data comes from <script type="application/json"> islands; model output is only ever set with
   textContent, never innerHTML, so it cannot inject markup. */
(function () {
  "use strict";
  function island(id) {
    var el = document.getElementById(id);
    return el ? JSON.parse(el.textContent) : null;
  }
  function el(tag, attrs, text) {
    var e = document.createElement(tag);
    if (attrs) for (var k in attrs) { if (k === "class") e.className = attrs[k]; else e.setAttribute(k, attrs[k]); }
    if (text !== undefined && text !== null) e.textContent = String(text);
    return e;
  }

  function renderPlots() {
    var divs = document.querySelectorAll("div.plot[data-fig]");
    for (var i = 0; i < divs.length; i++) {
      var fig = island(divs[i].getAttribute("data-fig"));
      if (fig && window.Plotly) {
        window.Plotly.newPlot(divs[i], fig.data, fig.layout, {responsive: true, displaylogo: false});
      }
    }
  }

  function sampleBrowser() {
    var root = document.getElementById("sample-browser");
    if (!root) return;
    var samples = island("samples") || [];
    var colors = island("state-colors") || {};
    var PAGE = 50;
    var page = 0;
    var fBench = document.getElementById("f-benchmark"), fSubset = document.getElementById("f-subset"),
        fState = document.getElementById("f-state"), fText = document.getElementById("f-text");
    var tbody = root.querySelector("tbody"), count = document.getElementById("sample-count");
    var prev = document.getElementById("page-prev"), next = document.getElementById("page-next"),
        pageInfo = document.getElementById("page-info");

    function options(select, values, allLabel) {
      var keep = select.value;
      while (select.firstChild) select.removeChild(select.firstChild);
      select.appendChild(el("option", {value: ""}, allLabel));
      values.forEach(function (v) { select.appendChild(el("option", {value: v}, v)); });
      select.value = values.indexOf(keep) >= 0 ? keep : "";
    }
    function uniq(list) { return list.filter(function (v, i) { return v !== null && v !== undefined && list.indexOf(v) === i; }); }
    options(fBench, uniq(samples.map(function (s) { return s.benchmark; })), "all benchmarks");
    function refreshSubsets() {
      var b = fBench.value;
      options(fSubset, uniq(samples.filter(function (s) { return !b || s.benchmark === b; })
        .map(function (s) { return s.subset; })), "all subsets");
    }
    refreshSubsets();

    function filtered() {
      var b = fBench.value, sub = fSubset.value, st = fState.value, q = fText.value.toLowerCase();
      return samples.filter(function (s) {
        if (b && s.benchmark !== b) return false;
        if (sub && s.subset !== sub) return false;
        if (st && s.state !== st) return false;
        if (q) {
          var hay = [s.id, s.prompt, s.output, s.extracted, s.gold, JSON.stringify(s.details || {})]
            .join("\n").toLowerCase();
          if (hay.indexOf(q) < 0) return false;
        }
        return true;
      });
    }
    function textBlock(parent, title, text) {
      if (text === null || text === undefined || text === "") return;
      parent.appendChild(el("h4", null, title));
      parent.appendChild(el("pre", {"class": "text"}, typeof text === "string" ? text : JSON.stringify(text)));
    }
    // A scorer's details (Score.details): a judge's verdict, reasoning and tokens; a code run's exit,
    // limit, duration, stdout and stderr; any other key as key / value. All as text, never markup.
    var KNOWN = ["verdict", "grade", "reasoning", "judge_model", "judge_usage", "judge_output",
                 "judge_error_reason", "exit_code", "limit", "duration_s", "stdout", "stderr"];
    function has(d, k) { return d[k] !== undefined && d[k] !== null; }
    function detailsBlock(parent, d) {
      if (!d || typeof d !== "object" || !Object.keys(d).length) return;
      if (has(d, "verdict") || has(d, "grade") || has(d, "judge_model")) {
        var v = "Judge verdict: " + (has(d, "verdict") ? d.verdict : "–") + (has(d, "grade") ? " (" + d.grade + ")" : "");
        if (has(d, "judge_model")) v += "   judge: " + d.judge_model;
        if (has(d, "judge_usage")) {
          v += "   judge tokens: prompt " + (d.judge_usage.prompt_tokens || 0) + ", completion " +
            (d.judge_usage.completion_tokens || 0);
        }
        if (has(d, "judge_error_reason")) v += "   judge failed: " + d.judge_error_reason;
        parent.appendChild(el("h4", null, "Judge"));
        parent.appendChild(el("div", {"class": "judge-verdict"}, v));
      }
      textBlock(parent, "Judge reasoning", d.reasoning);
      textBlock(parent, "Judge reply (not a verdict)", d.judge_output);
      if (has(d, "exit_code") || has(d, "limit") || has(d, "duration_s")) {
        parent.appendChild(el("h4", null, "Code run"));
        parent.appendChild(el("div", {"class": "code-run"},
          "exit code: " + (has(d, "exit_code") ? d.exit_code : "none (killed)") +
          "   limit hit: " + (has(d, "limit") ? d.limit : "none") +
          "   duration: " + (has(d, "duration_s") ? d.duration_s + " s" : "–")));
      }
      textBlock(parent, "stdout", d.stdout);
      textBlock(parent, "stderr", d.stderr);
      var rest = Object.keys(d).filter(function (k) { return KNOWN.indexOf(k) < 0; });
      if (!rest.length) return;
      parent.appendChild(el("h4", null, "Scorer details"));
      var table = el("table", {"class": "details"});
      rest.forEach(function (k) {
        var tr = el("tr");
        tr.appendChild(el("th", null, k));
        var v = d[k];
        tr.appendChild(el("td", null, typeof v === "string" ? v : JSON.stringify(v)));
        table.appendChild(tr);
      });
      parent.appendChild(table);
    }
    function render() {
      var rows = filtered();
      var pages = Math.max(1, Math.ceil(rows.length / PAGE));
      if (page >= pages) page = pages - 1;
      while (tbody.firstChild) tbody.removeChild(tbody.firstChild);
      rows.slice(page * PAGE, page * PAGE + PAGE).forEach(function (s) {
        var tr = el("tr", {"class": "sample-row", "data-state": s.state || ""});
        tr.appendChild(el("td", null, s.benchmark));
        tr.appendChild(el("td", null, s.subset));
        tr.appendChild(el("td", null, s.id));
        var tdState = el("td");
        var badge = el("span", {"class": "badge state"}, s.state);
        badge.style.background = colors[s.state] || "#999";
        tdState.appendChild(badge);
        tr.appendChild(tdState);
        // a sample that was never scored (its request failed) has no score: n/a, not 0
        tr.appendChild(el("td", {"class": "num score"}, s.score === null || s.score === undefined ? "n/a" : Number(s.score).toFixed(3)));
        tr.appendChild(el("td", {"class": "extracted"}, s.extracted === null ? "–" : s.extracted));
        tr.appendChild(el("td", {"class": "gold"}, s.gold === null ? "–" : (typeof s.gold === "string" ? s.gold : JSON.stringify(s.gold))));
        var preview = s.output === null || s.output === undefined ? "(no output)" : String(s.output).replace(/\s+/g, " ").slice(0, 160);
        tr.appendChild(el("td", {"class": "preview", "title": preview}, preview));
        tr.appendChild(el("td", {"class": "num latency"}, s.latency === null || s.latency === undefined ? "–" : Number(s.latency).toFixed(2)));
        tr.appendChild(el("td", {"class": "num tokens"}, s.tokens === null || s.tokens === undefined ? "–" : s.tokens));
        var detail = null;
        tr.addEventListener("click", function () {
          if (detail) { detail.parentNode.removeChild(detail); detail = null; return; }
          detail = el("tr", {"class": "detail"});
          var td = el("td", {colspan: "10"});
          textBlock(td, "Prompt", s.prompt);
          textBlock(td, "Reasoning", s.reasoning);
          textBlock(td, "Raw output", s.output === null ? "(no output)" : s.output);
          textBlock(td, "Extracted answer", s.extracted === null ? "(none)" : s.extracted);
          textBlock(td, "Gold answer", s.gold);
          textBlock(td, "Error", s.error);
          detailsBlock(td, s.details);
          var meta = "finish_reason: " + (s.finish_reason || "–") + "   latency: " +
            (s.latency === null || s.latency === undefined ? "–" : s.latency + " s");
          td.appendChild(el("div", {"class": "muted"}, meta));
          detail.appendChild(td);
          tr.parentNode.insertBefore(detail, tr.nextSibling);
        });
        tbody.appendChild(tr);
      });
      count.textContent = rows.length + " of " + samples.length + " samples";
      pageInfo.textContent = "page " + (page + 1) + " / " + pages;
      prev.disabled = page === 0;
      next.disabled = page >= pages - 1;
    }
    // The filters live in the address's hash (#benchmark=..&subset=..&state=..&q=..&page=..): a reload,
    // a bookmark or a shared link shows the same rows. replaceState: typing does not flood the history.
    function readHash() {
      var params = new URLSearchParams(location.hash.replace(/^#/, ""));
      fBench.value = params.get("benchmark") || "";
      if (fBench.value !== (params.get("benchmark") || "")) fBench.value = "";
      refreshSubsets();
      fSubset.value = params.get("subset") || "";
      fState.value = params.get("state") || "";
      fText.value = params.get("q") || "";
      page = Math.max(0, (parseInt(params.get("page") || "1", 10) || 1) - 1);
    }
    function writeHash() {
      var params = new URLSearchParams();
      if (fBench.value) params.set("benchmark", fBench.value);
      if (fSubset.value) params.set("subset", fSubset.value);
      if (fState.value) params.set("state", fState.value);
      if (fText.value) params.set("q", fText.value);
      if (page > 0) params.set("page", String(page + 1));
      var hash = params.toString();
      try {
        history.replaceState(null, "", hash ? "#" + hash : location.pathname + location.search);
      } catch (e) { /* a sandboxed or blob: page may refuse; the filters still work */ }
    }
    function update() { render(); writeHash(); }
    fBench.addEventListener("change", function () { refreshSubsets(); page = 0; update(); });
    [fSubset, fState].forEach(function (f) { f.addEventListener("change", function () { page = 0; update(); }); });
    fText.addEventListener("input", function () { page = 0; update(); });
    prev.addEventListener("click", function () { page--; update(); });
    next.addEventListener("click", function () { page++; update(); });
    window.addEventListener("hashchange", function () { readHash(); render(); });
    readHash();
    render();
  }

  // Categories of the score table (ceval, mmlu, ...): a click opens or closes their subsets.
  function categories() {
    var rows = document.querySelectorAll("#scores-table tr.category");
    for (var i = 0; i < rows.length; i++) {
      (function (row) {
        function toggle() {
          var open = !row.classList.contains("open");
          row.classList.toggle("open", open);
          var cat = row.getAttribute("data-cat");
          var subs = row.parentNode.querySelectorAll("tr.subset");
          for (var j = 0; j < subs.length; j++) {
            if (subs[j].getAttribute("data-parent") === cat) subs[j].classList.toggle("collapsed", !open);
          }
        }
        row.addEventListener("click", toggle);
        row.addEventListener("keydown", function (e) { if (e.key === "Enter" || e.key === " ") { e.preventDefault(); toggle(); } });
      })(rows[i]);
    }
  }

  function start() {
    if (!window.Plotly) {  // a service copy opened from disk: say why the charts are missing
      var warn = document.getElementById("no-plotly");
      if (warn) warn.hidden = false;
    }
    renderPlots(); categories(); sampleBrowser(); document.body.setAttribute("data-ready", "1");
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start); else start();
})();
