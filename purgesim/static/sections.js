/* Render the sections of a run (charts.py's RunView.sections()) into a container.
   Shared by the HTML report (inlined) and the dashboard (served): one renderer for both. */
"use strict";
(function (root) {
  var CONFIG = {responsive: true, displaylogo: false, displayModeBar: "hover"};

  function el(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined && text !== null) e.textContent = text;
    return e;
  }

  function plot(div, figure, onClick) {
    var layout = Object.assign({autosize: true}, figure.layout || {});
    return Plotly.newPlot(div, figure.data || [], layout, CONFIG).then(function (gd) {
      if (onClick) gd.on("plotly_click", onClick);
      return gd;
    });
  }

  /* sections: [{id, title, note, figure, table, collapsed}]; opts.prefix keeps ids unique
     when two runs are shown side by side; opts.onClick(sectionId, event) for chart clicks. */
  function renderSections(container, sections, opts) {
    opts = opts || {};
    var prefix = opts.prefix || "";
    var done = [];
    sections.forEach(function (s) {
      var sec = el("section", "run-section");
      sec.id = prefix + "sec-" + s.id;
      sec.setAttribute("data-section", s.id);
      var body = sec;
      if (s.collapsed) {
        var det = el("details");
        det.appendChild(el("summary", "section-title", s.title));
        sec.appendChild(det);
        body = det;
      } else {
        sec.appendChild(el("h2", "section-title", s.title));
      }
      if (s.note) body.appendChild(el("p", "note", s.note));
      if (s.figure) {
        var div = el("div", "chart");
        div.id = prefix + "chart-" + s.id;
        div.setAttribute("data-chart", s.id);
        body.appendChild(div);
        container.appendChild(sec);
        done.push(plot(div, s.figure, opts.onClick ? function (ev) {
          opts.onClick(s.id, ev);
        } : null).then(function () { div.setAttribute("data-rendered", "1"); }));
      } else {
        container.appendChild(sec);
      }
      if (s.table) {
        var wrap = el("div", "table-wrap");
        wrap.innerHTML = s.table; /* built and escaped on the server by charts.py */
        body.appendChild(wrap);
      }
    });
    return Promise.all(done);
  }

  root.PurgeCharts = {renderSections: renderSections, plot: plot, CONFIG: CONFIG};
})(window);
