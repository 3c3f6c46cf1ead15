// POST-CSO review console: maps (Leaflet + marker clustering) and pinch-zoom
// of photos. Loaded from the station (CSP script-src 'self'); reads its data
// from data-* attributes and JSON data blocks, never from inline script.
(function () {
  "use strict";

  var SEOUL = [37.5665, 126.978];

  function zones() {
    var el = document.getElementById("zones-data");
    if (!el) return [];
    try { return JSON.parse(el.textContent || "[]"); } catch (e) { return []; }
  }

  function baseMap(el) {
    var map = L.map(el, { zoomControl: true, attributionControl: true, maxZoom: 19, minZoom: 5 });
    var tiles = el.getAttribute("data-tiles");
    if (tiles) {
      L.tileLayer(tiles, { maxZoom: 19, attribution: el.getAttribute("data-attribution") || "" }).addTo(map);
    }
    // Without a tile server the map is a plain background with the zone
    // outlines and the reports: no request leaves the station.
    var outlines = L.featureGroup();
    zones().forEach(function (z) {
      L.geoJSON(z.area, { style: { color: "#4b55b8", weight: 2, fillOpacity: 0.06 } })
        .bindTooltip(z.name, { className: "zone-label" })
        .addTo(outlines);
    });
    outlines.addTo(map);
    return { map: map, outlines: outlines };
  }

  var queue = null;

  function queueMarkers() {
    if (!queue) return;
    queue.cluster.clearLayers();
    var rows = document.querySelectorAll("#queue-rows .row");
    var bounds = L.latLngBounds([]);
    var openLabel = queue.el.getAttribute("data-open-label") || "Open";
    rows.forEach(function (row) {
      var lat = parseFloat(row.getAttribute("data-lat"));
      var lon = parseFloat(row.getAttribute("data-lon"));
      if (!isFinite(lat) || !isFinite(lon)) return;
      var marker = L.circleMarker([lat, lon], {
        radius: 9, weight: 2, color: "#12355b",
        fillColor: row.classList.contains("overdue") ? "#c0392b" : "#2f6fd0", fillOpacity: 0.85
      });
      var link = document.createElement("a");
      link.href = row.getAttribute("data-href");
      link.textContent = (row.getAttribute("data-title") || "") + " — " + openLabel;
      marker.bindPopup(link);
      marker.on("click", function () {
        document.querySelectorAll("#queue-rows .row.selected").forEach(function (r) { r.classList.remove("selected"); });
        row.classList.add("selected");
        row.scrollIntoView({ block: "nearest" });
      });
      queue.cluster.addLayer(marker);
      bounds.extend([lat, lon]);
    });
    if (bounds.isValid()) {
      queue.map.fitBounds(bounds.pad(0.2), { maxZoom: 16 });
    } else if (queue.outlines.getLayers().length) {
      queue.map.fitBounds(queue.outlines.getBounds());
    } else {
      queue.map.setView(SEOUL, 12);
    }
  }

  function initQueueMap(el) {
    var base = baseMap(el);
    var cluster = L.markerClusterGroup({ showCoverageOnHover: false, maxClusterRadius: 50 });
    base.map.addLayer(cluster);
    queue = { el: el, map: base.map, outlines: base.outlines, cluster: cluster };
    queueMarkers();
  }

  function initReportMap(el) {
    var lat = parseFloat(el.getAttribute("data-lat"));
    var lon = parseFloat(el.getAttribute("data-lon"));
    var accuracy = parseFloat(el.getAttribute("data-accuracy"));
    var base = baseMap(el);
    if (!isFinite(lat) || !isFinite(lon)) { base.map.setView(SEOUL, 12); return; }
    // A circle's bounds need a map with a view: set one first.
    base.map.setView([lat, lon], 17);
    var circle = L.circle([lat, lon], { radius: isFinite(accuracy) ? accuracy : 0, color: "#0b57a4", weight: 1, fillOpacity: 0.15 });
    circle.addTo(base.map);
    L.circleMarker([lat, lon], { radius: 8, color: "#12355b", weight: 2, fillColor: "#2f6fd0", fillOpacity: 1 }).addTo(base.map);
    base.map.fitBounds(circle.getBounds().pad(1.5), { maxZoom: 18 });
  }

  // Two reports on one map: A (navy) and B (red), each with its accuracy
  // circle, joined by a line, framed together.
  function initCompareMap(el) {
    var base = baseMap(el);
    // Two reports metres apart: without tiles, zoom in past street level.
    if (!el.getAttribute("data-tiles")) base.map.setMaxZoom(21);
    var bounds = L.latLngBounds([]);
    var points = [];
    [["a", "#12355b"], ["b", "#a4161a"]].forEach(function (side) {
      var lat = parseFloat(el.getAttribute("data-" + side[0] + "-lat"));
      var lon = parseFloat(el.getAttribute("data-" + side[0] + "-lon"));
      var accuracy = parseFloat(el.getAttribute("data-" + side[0] + "-accuracy"));
      if (!isFinite(lat) || !isFinite(lon)) return;
      base.map.setView([lat, lon], 18);
      var circle = L.circle([lat, lon], { radius: isFinite(accuracy) ? accuracy : 0, color: side[1], weight: 1, fillOpacity: 0.12 });
      circle.addTo(base.map);
      L.circleMarker([lat, lon], { radius: 9, color: "#ffffff", weight: 2, fillColor: side[1], fillOpacity: 1 })
        .bindTooltip(el.getAttribute("data-" + side[0] + "-label") || side[0].toUpperCase(), { permanent: true, direction: "top", className: "map-label" })
        .addTo(base.map);
      bounds.extend(circle.getBounds());
      points.push([lat, lon]);
    });
    if (points.length === 2) {
      L.polyline(points, { color: "#333", weight: 2, dashArray: "4 4" }).addTo(base.map);
    }
    if (bounds.isValid()) base.map.fitBounds(bounds.pad(0.4), { maxZoom: base.map.getMaxZoom() });
    else base.map.setView(SEOUL, 12);
  }

  // Pinch-zoom and pan of a photo with pointer events; a double tap resets.
  // Not zoomed, the photo lets the page scroll vertically (touch-action:
  // pan-y); zoomed, it takes every gesture (touch-action: none).
  function zoomable(box) {
    var img = box.querySelector("img");
    if (!img) return;
    var pointers = new Map();
    var scale = 1, x = 0, y = 0;
    var start = null;
    var lastTap = 0;

    function apply() {
      var w = box.clientWidth, h = box.clientHeight;
      var minX = w - w * scale, minY = h - h * scale;
      x = Math.min(0, Math.max(minX, x));
      y = Math.min(0, Math.max(minY, y));
      img.style.transform = "translate(" + x + "px," + y + "px) scale(" + scale + ")";
      box.classList.toggle("zoomed", scale > 1.01);
      box.setAttribute("data-scale", scale.toFixed(2));
    }
    function snapshot() {
      var pts = Array.from(pointers.values());
      var rect = box.getBoundingClientRect();
      if (pts.length >= 2) {
        var dx = pts[1].x - pts[0].x, dy = pts[1].y - pts[0].y;
        return { dist: Math.hypot(dx, dy), cx: (pts[0].x + pts[1].x) / 2 - rect.left, cy: (pts[0].y + pts[1].y) / 2 - rect.top, scale: scale, x: x, y: y };
      }
      return { dist: 0, cx: pts[0].x - rect.left, cy: pts[0].y - rect.top, scale: scale, x: x, y: y };
    }
    box.addEventListener("pointerdown", function (e) {
      pointers.set(e.pointerId, { x: e.clientX, y: e.clientY });
      if (pointers.size === 2 || scale > 1.01) {
        try { box.setPointerCapture(e.pointerId); } catch (err) { /* ignore */ }
      }
      start = snapshot();
      if (pointers.size === 1 && e.pointerType !== "mouse") {
        var now = Date.now();
        if (now - lastTap < 300) { scale = 1; x = 0; y = 0; apply(); }
        lastTap = now;
      }
    });
    box.addEventListener("pointermove", function (e) {
      if (!pointers.has(e.pointerId)) return;
      pointers.set(e.pointerId, { x: e.clientX, y: e.clientY });
      var now = snapshot();
      if (pointers.size >= 2 && start && start.dist > 0) {
        var next = Math.min(6, Math.max(1, start.scale * now.dist / start.dist));
        // Keep the point between the fingers where it was.
        var px = (start.cx - start.x) / start.scale, py = (start.cy - start.y) / start.scale;
        scale = next;
        x = now.cx - px * scale;
        y = now.cy - py * scale;
        apply();
        e.preventDefault();
      } else if (pointers.size === 1 && scale > 1.01 && start) {
        x = start.x + (now.cx - start.cx);
        y = start.y + (now.cy - start.cy);
        apply();
        e.preventDefault();
      }
    });
    function up(e) {
      pointers.delete(e.pointerId);
      start = pointers.size ? snapshot() : null;
    }
    box.addEventListener("pointerup", up);
    box.addEventListener("pointercancel", up);
    box.addEventListener("dblclick", function () { scale = 1; x = 0; y = 0; apply(); });
    box.addEventListener("wheel", function (e) {
      if (!e.ctrlKey) return; // trackpad pinch on desktops
      e.preventDefault();
      var rect = box.getBoundingClientRect();
      var cx = e.clientX - rect.left, cy = e.clientY - rect.top;
      var px = (cx - x) / scale, py = (cy - y) / scale;
      scale = Math.min(6, Math.max(1, scale * Math.exp(-e.deltaY / 200)));
      x = cx - px * scale; y = cy - py * scale;
      apply();
    }, { passive: false });
  }

  function init() {
    if (typeof L !== "undefined") {
      var q = document.querySelector("[data-map=queue]");
      if (q) initQueueMap(q);
      var r = document.querySelector("[data-map=report]");
      if (r) initReportMap(r);
      var c = document.querySelector("[data-map=compare]");
      if (c) initCompareMap(c);
    }
    document.querySelectorAll(".zoomable").forEach(zoomable);
    // The monthly report's print button (without script: the browser's own print).
    document.querySelectorAll("[data-print]").forEach(function (b) {
      b.addEventListener("click", function () { window.print(); });
    });
    document.body.addEventListener("htmx:afterSwap", function (e) {
      if (e.target && e.target.id === "queue-results") queueMarkers();
    });
    document.documentElement.setAttribute("data-console-ready", "1");
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", init);
  } else {
    init();
  }
})();
