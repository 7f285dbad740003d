// nnx report: draws each page's Plotly figures from the JSON beside them, and makes tables
// sortable (click a header) and filterable (type in the box above them). Needs no network.
(function () {
  "use strict";

  function drawFigures() {
    document.querySelectorAll("div.plot[data-figure]").forEach(function (div) {
      var spec = JSON.parse(document.getElementById(div.dataset.figure).textContent);
      Plotly.newPlot(div, spec.data, spec.layout, {responsive: true, displaylogo: false});
    });
  }

  // A cell's sort key: its data-sort value (the raw number or date), else its text.
  function sortKey(cell) {
    var raw = cell.hasAttribute("data-sort") ? cell.getAttribute("data-sort") : cell.textContent.trim();
    var number = Number(raw.replace(/^#/, ""));  // trial numbers are written #3
    return raw === "" ? null : (isNaN(number) ? raw.toLowerCase() : number);
  }

  function sortBy(table, column, th) {
    var descending = th.getAttribute("aria-sort") === "ascending";
    table.querySelectorAll("th").forEach(function (other) { other.removeAttribute("aria-sort"); });
    th.setAttribute("aria-sort", descending ? "descending" : "ascending");
    var body = table.tBodies[0];
    var rows = Array.prototype.slice.call(body.rows);
    rows.sort(function (a, b) {
      var x = sortKey(a.cells[column]), y = sortKey(b.cells[column]);
      if (x === null || y === null) { return (x === null) - (y === null); }  // blanks last
      if (typeof x !== typeof y) { x = String(x); y = String(y); }
      var order = x < y ? -1 : (x > y ? 1 : 0);
      return descending ? -order : order;
    });
    rows.forEach(function (row) { body.appendChild(row); });
  }

  // Rows shown: those holding the filter text, and optional rows only when their box is ticked.
  function applyFilter(table) {
    var tools = document.querySelector('.table-tools[data-table="' + table.id + '"]');
    if (!tools) { return; }
    var box = tools.querySelector("input[type=search]");
    var toggle = tools.querySelector("input[type=checkbox]");
    var text = box ? box.value.trim().toLowerCase() : "";
    var shown = 0;
    Array.prototype.forEach.call(table.tBodies[0].rows, function (row) {
      var visible = row.textContent.toLowerCase().indexOf(text) !== -1 &&
        (!row.classList.contains("optional") || (toggle && toggle.checked));
      row.classList.toggle("hidden", !visible);
      shown += visible ? 1 : 0;
    });
    var count = tools.querySelector(".count");
    if (count) { count.textContent = shown + " of " + table.tBodies[0].rows.length + " shown"; }
  }

  function setUpTables() {
    document.querySelectorAll("table.sortable").forEach(function (table) {
      Array.prototype.forEach.call(table.tHead.rows[0].cells, function (th, column) {
        th.addEventListener("click", function () { sortBy(table, column, th); });
      });
      var tools = document.querySelector('.table-tools[data-table="' + table.id + '"]');
      if (tools) {
        tools.querySelectorAll("input").forEach(function (input) {
          input.addEventListener("input", function () { applyFilter(table); });
        });
        applyFilter(table);
      }
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    setUpTables();
    drawFigures();
  });
})();
