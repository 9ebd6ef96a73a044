// Sortable tables (click or Enter on a header) and a figure check: no libraries, no network.
(function () {
  "use strict";
  function key(cell) {
    var value = cell ? cell.getAttribute("data-sort") : null;
    if (value !== null && value !== "" && !isNaN(parseFloat(value))) return { n: parseFloat(value) };
    return { s: cell ? cell.textContent.trim().toLowerCase() : "" };
  }
  function compare(x, y, ascending) {
    var hasX = "n" in x, hasY = "n" in y;
    if (hasX && hasY) return ascending ? x.n - y.n : y.n - x.n;
    if (hasX !== hasY) return hasX ? -1 : 1; // cells without a number go last either way
    return ascending ? x.s.localeCompare(y.s) : y.s.localeCompare(x.s);
  }
  function sortBy(th) {
    var table = th.closest("table");
    var index = Array.prototype.indexOf.call(th.parentNode.children, th);
    var ascending = th.getAttribute("aria-sort") !== "ascending";
    table.querySelectorAll("th").forEach(function (h) { h.setAttribute("aria-sort", "none"); });
    th.setAttribute("aria-sort", ascending ? "ascending" : "descending");
    var body = table.tBodies[0];
    var rows = Array.prototype.slice.call(body.rows);
    rows.sort(function (a, b) { return compare(key(a.cells[index]), key(b.cells[index]), ascending); });
    rows.forEach(function (row) { body.appendChild(row); });
  }
  document.querySelectorAll("table.sortable th").forEach(function (th) {
    th.addEventListener("click", function () { sortBy(th); });
    th.addEventListener("keydown", function (e) {
      if (e.key === "Enter" || e.key === " ") { e.preventDefault(); sortBy(th); }
    });
  });
  window.addEventListener("load", function () {
    var images = Array.prototype.slice.call(document.images);
    document.body.setAttribute("data-figures-total", String(images.length));
    document.body.setAttribute("data-figures-loaded", String(images.filter(function (img) {
      return img.complete && img.naturalWidth > 0;
    }).length));
  });
})();
