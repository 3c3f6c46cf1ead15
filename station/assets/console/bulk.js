// POST-CSO review console: bulk decisions in the queue. Select rows (or every
// row of the page), confirm with the exact count, watch the progress bar move
// as each decision lands, then read the summary: how many were accepted, and
// which were skipped because someone changed them first (each decision names
// the version its row showed; the station refuses a stale one with 412 and
// nothing is overwritten). The bar's controls have classes, not ids: htmx
// swaps the list, and settles elements with ids by copying attributes, which
// a strict CSP refuses for a style attribute. Strings come from the dialog's data-* attributes,
// in the page's language; no inline script (CSP).
(function () {
  "use strict";

  var WORKERS = 4;

  function fill(template, values) {
    return String(template || "").replace(/\{(\w+)\}/g, function (m, key) {
      return Object.prototype.hasOwnProperty.call(values, key) ? String(values[key]) : m;
    });
  }

  function picks() {
    return Array.prototype.slice.call(document.querySelectorAll("#queue-rows .bulk-pick"));
  }

  function chosen() {
    return picks().filter(function (box) { return box.checked; });
  }

  // The bar's count, button and "select all" follow the row checkboxes.
  function refresh() {
    var all = picks();
    var n = chosen().length;
    var count = document.querySelector("#queue-results .bulk-count");
    if (count) count.textContent = fill(count.getAttribute("data-template"), { n: n });
    var button = document.querySelector("#queue-results .bulk-accept");
    if (button) button.disabled = n === 0;
    var every = document.querySelector("#queue-results .bulk-all");
    if (every) {
      every.checked = all.length > 0 && n === all.length;
      every.indeterminate = n > 0 && n < all.length;
    }
  }

  function show(dialog, part) {
    ["bulk-ask", "bulk-run", "bulk-summary"].forEach(function (id) {
      document.getElementById(id).hidden = id !== part;
    });
    if (!dialog.open) dialog.showModal();
  }

  function link(id, short) {
    var li = document.createElement("li");
    var a = document.createElement("a");
    a.href = "/console/reports/" + id;
    a.textContent = "#" + short;
    li.appendChild(a);
    return li;
  }

  function decideOne(dialog, item) {
    var body = new URLSearchParams();
    body.set("csrf", dialog.getAttribute("data-csrf") || "");
    body.set("id", item.id);
    body.set("version", item.version);
    return fetch("/console/bulk/accept", {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/x-www-form-urlencoded", "Accept": "application/json" },
      body: body.toString()
    }).then(function (response) {
      if (response.status === 412) return "skipped";
      if (!response.ok) return "failed";
      return response.json().then(function (answer) {
        return answer.outcome === "accepted" || answer.outcome === "unchanged" ? "accepted" : "failed";
      }, function () { return "failed"; });
    }, function () { return "failed"; });
  }

  function run(dialog, items) {
    var title = document.getElementById("bulk-title");
    var bar = document.getElementById("bulk-progress");
    var text = document.getElementById("bulk-progress-text");
    var total = items.length;
    var done = 0;
    var results = { accepted: [], skipped: [], failed: [] };
    title.textContent = dialog.getAttribute("data-progress-title");
    bar.setAttribute("max", String(total));
    bar.setAttribute("value", "0");
    text.textContent = fill(dialog.getAttribute("data-progress"), { done: 0, total: total });
    show(dialog, "bulk-run");
    var queue = items.slice();

    function worker() {
      var item = queue.shift();
      if (!item) return Promise.resolve();
      return decideOne(dialog, item).then(function (outcome) {
        results[outcome].push(item);
        done += 1;
        bar.setAttribute("value", String(done));
        text.textContent = fill(dialog.getAttribute("data-progress"), { done: done, total: total });
        return worker();
      });
    }

    var workers = [];
    for (var i = 0; i < Math.min(WORKERS, total); i += 1) workers.push(worker());
    return Promise.all(workers).then(function () { summary(dialog, results); });
  }

  function summary(dialog, results) {
    document.getElementById("bulk-title").textContent = dialog.getAttribute("data-summary-title");
    document.getElementById("bulk-accepted").textContent =
      fill(dialog.getAttribute("data-accepted"), { n: results.accepted.length });
    document.getElementById("bulk-skipped").textContent =
      fill(dialog.getAttribute("data-skipped"), { n: results.skipped.length });
    [["skipped", "bulk-skipped-list"], ["failed", "bulk-failed-list"]].forEach(function (pair) {
      var box = document.getElementById(pair[1]);
      var list = box.querySelector("ul");
      list.textContent = "";
      results[pair[0]].forEach(function (item) { list.appendChild(link(item.id, item.short)); });
      box.hidden = results[pair[0]].length === 0;
    });
    var failed = document.getElementById("bulk-failed");
    failed.textContent = fill(dialog.getAttribute("data-failed"), { n: results.failed.length });
    failed.hidden = results.failed.length === 0;
    dialog.setAttribute("data-done", "1");
    show(dialog, "bulk-summary");
    document.getElementById("bulk-reload").focus();
  }

  function ask(dialog) {
    var items = chosen().map(function (box) {
      return { id: box.value, version: box.getAttribute("data-version"), short: box.getAttribute("data-short") };
    });
    if (!items.length) return;
    var n = items.length;
    dialog.removeAttribute("data-done");
    document.getElementById("bulk-title").textContent = fill(dialog.getAttribute("data-confirm"), { n: n });
    var go = document.getElementById("bulk-go");
    go.textContent = fill(dialog.getAttribute("data-confirm-yes"), { n: n });
    go.onclick = function () { run(dialog, items); };
    show(dialog, "bulk-ask");
    go.focus();
  }

  function init() {
    var dialog = document.getElementById("bulk-dialog");
    if (!dialog) return;
    document.addEventListener("change", function (e) {
      var target = e.target;
      if (target.classList && target.classList.contains("bulk-all")) {
        picks().forEach(function (box) { box.checked = target.checked; });
        refresh();
      } else if (target.classList && target.classList.contains("bulk-pick")) {
        refresh();
      }
    });
    document.addEventListener("click", function (e) {
      if (e.target && e.target.classList && e.target.classList.contains("bulk-accept")) ask(dialog);
    });
    document.getElementById("bulk-cancel").addEventListener("click", function () { dialog.close(); });
    // A new page of the list starts with nothing selected.
    document.body.addEventListener("htmx:afterSwap", refresh);
    refresh();
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", init);
  } else {
    init();
  }
})();
