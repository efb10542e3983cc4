/* The purgesim dashboard: choose a scenario and its parameters, run it on the server, see the
   report's charts (rendered by sections.js, the same code as the HTML report), compare two
   runs, follow a person's story.  Everything shown comes from the JSON API. */
"use strict";
(function () {
  var state = {scenarios: [], specs: [], defaults: {}, runs: [], current: null,
               watching: {}, pollTimer: null};

  function $(id) { return document.getElementById(id); }
  function el(tag, attrs, text) {
    var e = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (k) {
      if (k === "class") e.className = attrs[k]; else e.setAttribute(k, attrs[k]);
    });
    if (text !== undefined && text !== null) e.textContent = text;
    return e;
  }
  function fmt(x) {
    if (x === null || x === undefined) return "—";
    if (typeof x === "number") {
      return Math.abs(x) < 10 && x % 1 !== 0 ? x.toFixed(3) : Math.round(x).toLocaleString("en");
    }
    return String(x);
  }

  function api(path, opts) {
    return fetch(path, opts).then(function (r) {
      return r.text().then(function (t) {
        var body = null;
        try { body = t ? JSON.parse(t) : null; } catch (e) { body = {error: t}; }
        if (!r.ok) {
          var err = new Error((body && body.error) || ("HTTP " + r.status));
          err.status = r.status; throw err;
        }
        return body;
      });
    });
  }

  /* ------------------------------------------------------------------ tabs */
  function showTab(name) {
    document.querySelectorAll("nav.tabs button").forEach(function (b) {
      b.classList.toggle("active", b.getAttribute("data-tab") === name);
    });
    document.querySelectorAll(".tab").forEach(function (t) {
      t.classList.toggle("active", t.id === "tab-" + name);
    });
    if (name === "person") personRun();
    /* charts drawn in a hidden tab need a resize once visible */
    document.querySelectorAll("#tab-" + name + " .js-plotly-plot").forEach(function (gd) {
      try { Plotly.Plots.resize(gd); } catch (e) { /* not drawn yet */ }
    });
  }

  /* ------------------------------------------------------------------ the form */
  function loadScenarios() {
    return api("/api/scenarios").then(function (list) {
      state.scenarios = list;
      var sel = $("scenario");
      sel.innerHTML = "";
      list.forEach(function (s) { sel.appendChild(el("option", {value: s.name}, s.name)); });
      var pref = list.some(function (s) { return s.name === "toy"; }) ? "toy" : list[0].name;
      sel.value = pref;
      return loadParams(pref);
    });
  }

  function scenarioInfo(name) {
    return state.scenarios.filter(function (s) { return s.name === name; })[0];
  }

  function loadParams(name) {
    var info = scenarioInfo(name);
    $("scenario-desc").textContent = info.description + " (" + info.start + " to " +
      info.end + ")";
    $("scale").value = info.scale;
    $("scale").min = 0;
    $("scale").max = info.max_scale;
    $("scale").title = "0 < scale <= " + info.max_scale.toPrecision(3) +
      " (at most the dashboard's limit of simulated people)";
    $("seed").value = info.seed;
    return api("/api/params?scenario=" + encodeURIComponent(name)).then(function (p) {
      state.specs = p.params;
      state.defaults = {};
      var mechs = $("mechanisms");
      mechs.querySelectorAll("label").forEach(function (l) { l.remove(); });
      var box = $("params");
      box.querySelectorAll("details").forEach(function (d) { d.remove(); });
      var groups = {};
      p.mechanisms.forEach(function (m) {
        groups[m.key] = el("details", {class: "mech"});
        groups[m.key].appendChild(el("summary", {},
          (m.letter && m.letter !== "-" ? "(" + m.letter + ") " : "") + m.key));
        if (m.doc) groups[m.key].appendChild(el("p", {class: "note"}, m.doc));
        box.appendChild(groups[m.key]);
      });
      p.params.forEach(function (s) {
        state.defaults[s.name] = s.value;
        if (s.kind === "bool" && s.name.split(".")[1] === "enabled") {
          var lab = el("label", {title: "ticked: on; untick to switch the mechanism off"});
          var cb = el("input", {type: "checkbox", id: "mech-" + s.mechanism,
                                "data-param": s.name});
          cb.checked = !!s.value;
          lab.appendChild(cb);
          lab.appendChild(document.createTextNode(
            (s.letter && s.letter !== "-" ? "(" + s.letter + ") " : "") + s.mechanism));
          mechs.appendChild(lab);
          return;
        }
        var div = el("div", {class: "param"});
        var id = "p-" + s.name.replace(/\./g, "-");
        var lab2 = el("label", {for: id, title: s.meaning},
                      s.name.split(".")[1] + (s.unit ? " (" + s.unit + ")" : "") +
                      (s.free ? " *" : ""));
        var input;
        if (s.kind === "choice") {
          input = el("select", {id: id, "data-param": s.name, title: s.meaning});
          s.choices.forEach(function (c) { input.appendChild(el("option", {value: c}, c)); });
          input.value = s.value;
        } else if (s.kind === "bool") {
          input = el("input", {type: "checkbox", id: id, "data-param": s.name});
          input.checked = !!s.value;
        } else if (s.kind === "other") {
          // a date or a text (e.g. army.start): shown, not sent (the server sets only
          // numbers, switches and choices; the command line's --set changes it)
          input = el("input", {type: "text", id: id, disabled: "disabled",
                               title: s.meaning + " (set with --set on the command line)"});
          input.value = s.value === null ? "" : s.value;
        } else {
          input = el("input", {type: "number", id: id, "data-param": s.name,
                               step: s.kind === "int" ? "1" : "any", title: s.meaning});
          if (s.lo !== null) input.min = s.lo;
          if (s.hi !== null) input.max = s.hi;
          input.value = s.value === null ? "" : s.value;  // unset optional number: empty
          if (s.value === null) input.placeholder = "unset";
        }
        input.setAttribute("data-kind", s.kind);
        input.addEventListener("input", function () {
          input.classList.toggle("changed", !unchanged(readValue(input),
                                                       state.defaults[s.name]));
        });
        div.appendChild(lab2);
        div.appendChild(input);
        if (s.lo !== null) {
          div.appendChild(el("div", {class: "range"}, "range " + s.lo + " – " + s.hi +
                             (s.unit ? " " + s.unit : "") + ". " + s.meaning));
        } else {
          div.appendChild(el("div", {class: "range"}, s.meaning));
        }
        (groups[s.mechanism] || box).appendChild(div);
      });
    });
  }

  // an empty number field left as it was (an unset optional parameter) is unchanged
  function unchanged(v, dflt) {
    if (dflt === null && typeof v === "number" && isNaN(v)) return true;
    return v === dflt;
  }

  function readValue(input) {
    var kind = input.getAttribute("data-kind");
    if (input.type === "checkbox") return input.checked;
    if (kind === "int") return input.value === "" ? NaN : parseInt(input.value, 10);
    if (kind === "float") return input.value === "" ? NaN : Number(input.value);
    return input.value;
  }

  function collectRequest() {
    var req = {scenario: $("scenario").value, params: {}};
    var scale = Number($("scale").value), seed = parseInt($("seed").value, 10);
    var info = scenarioInfo(req.scenario);
    if ($("scale").value !== "" && scale !== info.scale) req.scale = scale;
    if ($("seed").value !== "") req.seed = seed;
    if ($("label").value.trim()) req.label = $("label").value.trim();
    document.querySelectorAll("#run-form [data-param]").forEach(function (input) {
      var name = input.getAttribute("data-param");
      var v = input.type === "checkbox" ? input.checked : readValue(input);
      if (!unchanged(v, state.defaults[name])) req.params[name] = v;
    });
    return req;
  }

  function submitRun(ev) {
    ev.preventDefault();
    $("form-error").textContent = "";
    var req = collectRequest();
    $("run-btn").disabled = true;
    api("/api/runs", {method: "POST", headers: {"Content-Type": "application/json"},
                      body: JSON.stringify(req)})
      .then(function (job) {
        state.watching[job.id] = true;
        showTab("runs");
        refreshRuns();
      })
      .catch(function (e) { $("form-error").textContent = e.message; })
      .then(function () { $("run-btn").disabled = false; });
  }

  /* ------------------------------------------------------------------ runs */
  function describe(job) {
    var r = job.request, parts = [r.scenario, "seed " + r.seed, "scale " + r.scale];
    var changes = Object.keys(r.params || {}).map(function (k) { return k + "=" + r.params[k]; });
    return (job.label ? job.label + " — " : "") + parts.join(", ") +
      (changes.length ? " (" + changes.join(", ") + ")" : "");
  }

  function refreshRuns() {
    return api("/api/runs").then(function (runs) {
      state.runs = runs;
      var body = document.querySelector("#run-list tbody");
      var checkedA = document.querySelector("input[name=cmpA]:checked");
      var checkedB = document.querySelector("input[name=cmpB]:checked");
      var a = checkedA ? checkedA.value : null, b = checkedB ? checkedB.value : null;
      body.innerHTML = "";
      var active = 0;
      runs.forEach(function (job) {
        var tr = el("tr", {"data-run": job.id, "data-status": job.status});
        if (job.id === state.current) tr.className = "selected";
        tr.appendChild(el("td", {}, job.id));
        tr.appendChild(el("td", {}, describe(job)));
        var st = el("td", {class: "status"});
        if (job.status === "running" || job.status === "queued" || job.status === "writing") {
          active += 1;
          var pr = el("progress", {max: "1", value: String(job.progress || 0)});
          st.appendChild(pr);
          st.appendChild(document.createTextNode(" " + job.status + " " +
            (job.days ? job.day + "/" + job.days + " days" : "")));
        } else {
          st.textContent = job.status + (job.seconds ? " (" + job.seconds.toFixed(1) + " s)" : "") +
            (job.error ? ": " + job.error : "");
        }
        tr.appendChild(st);
        var t = job.totals || {};
        tr.appendChild(el("td", {"data-col": "arrests"}, fmt(t.arrests)));
        tr.appendChild(el("td", {}, fmt(t.death_sentences)));
        ["A", "B"].forEach(function (k) {
          var td = el("td");
          if (job.status === "done") {
            var rb = el("input", {type: "radio", name: "cmp" + k, value: job.id,
                                  title: "compare as " + k});
            if ((k === "A" ? a : b) === job.id) rb.checked = true;
            td.appendChild(rb);
          }
          tr.appendChild(td);
        });
        var td = el("td");
        if (job.status === "done") {
          var btn = el("button", {type: "button", class: "view-run"}, "charts");
          btn.addEventListener("click", function () { openRun(job.id); });
          td.appendChild(btn);
        }
        tr.appendChild(td);
        body.appendChild(tr);
        if (job.status === "done" && state.watching[job.id]) {
          delete state.watching[job.id];
          openRun(job.id);
        }
        if (job.status === "failed" && state.watching[job.id]) {
          delete state.watching[job.id];
          $("form-error").textContent = "run " + job.id + " failed: " + job.error;
        }
      });
      fillCompareSelects();
      $("status-line").textContent = active ? active + " run(s) running or queued" :
        runs.length + " run(s) on the server";
      clearTimeout(state.pollTimer);
      if (active) state.pollTimer = setTimeout(refreshRuns, 400);
    }).catch(function (e) { $("status-line").textContent = "server: " + e.message; });
  }

  function openRun(id) {
    state.current = id;
    document.querySelectorAll("#run-list tr").forEach(function (tr) {
      tr.classList.toggle("selected", tr.getAttribute("data-run") === id);
    });
    showTab("charts");
    $("sections").innerHTML = "";
    $("run-head").innerHTML = "<p class='note'>loading the charts…</p>";
    return api("/api/runs/" + id + "/sections").then(function (data) {
      var head = $("run-head");
      head.innerHTML = "";
      head.setAttribute("data-run", id);
      head.appendChild(el("h2", {}, (data.user_label ? data.user_label + " — " : "") +
                                  data.title));
      var tot = el("div", {class: "totals", id: "totals", "data-run": id});
      [["arrests", "arrests"], ["convictions", "convictions"],
       ["death_sentences", "death sentences"], ["camp_sentences", "camp sentences"],
       ["bottom_up_share", "share bottom-up"], ["mean_names_per_confession",
       "names per confession"], ["deepest_chain", "deepest naming chain"],
       ["halt", "halt"]].forEach(function (k) {
        var d = el("div", {"data-total": k[0]});
        d.appendChild(el("b", {}, fmt(data.totals[k[0]])));
        d.appendChild(document.createTextNode(k[1]));
        tot.appendChild(d);
      });
      head.appendChild(tot);
      var links = el("p");
      var a = el("a", {href: "/api/runs/" + id + "/report", target: "_blank",
                       id: "report-link"}, "open the self-contained HTML report");
      links.appendChild(a);
      head.appendChild(links);
      return PurgeCharts.renderSections($("sections"), data.sections, {
        onClick: function (sectionId, ev) {
          var p = ev.points && ev.points[0];
          if (sectionId === "cascade" && p && p.customdata !== undefined) {
            openPerson(String(p.customdata));
          }
        }
      });
    }).then(function () {
      $("sections").setAttribute("data-rendered", id);
    }).catch(function (e) {
      $("run-head").innerHTML = "";
      $("run-head").appendChild(el("p", {class: "error"}, e.message));
    });
  }

  /* ------------------------------------------------------------------ compare */
  function fillCompareSelects() {
    var done = state.runs.filter(function (j) { return j.status === "done"; });
    ["cmp-a", "cmp-b"].forEach(function (sid, i) {
      var sel = $(sid), keep = sel.value;
      sel.innerHTML = "";
      done.forEach(function (j) {
        sel.appendChild(el("option", {value: j.id}, j.id + " " + describe(j)));
      });
      var radio = document.querySelector("input[name=cmp" + (i ? "B" : "A") + "]:checked");
      if (radio) sel.value = radio.value;
      else if (sel.getAttribute("data-user") && keep) sel.value = keep;
      /* by default A is the older of the two latest runs, B the latest */
      else if (done.length > 1) sel.value = done[i ? 0 : 1].id;
      else if (done.length) sel.value = done[0].id;
    });
  }

  function runCompare() {
    var a = $("cmp-a").value, b = $("cmp-b").value;
    $("cmp-error").textContent = "";
    if (!a || !b) { $("cmp-error").textContent = "choose two finished runs"; return; }
    ["compare-sections", "cmp-col-a", "cmp-col-b"].forEach(function (i) { $(i).innerHTML = ""; });
    api("/api/compare?a=" + encodeURIComponent(a) + "&b=" + encodeURIComponent(b))
      .then(function (data) {
        var done = [PurgeCharts.renderSections($("compare-sections"), data.sections,
                                               {prefix: "cmp-"})];
        [["a", data.a, data.label_a], ["b", data.b, data.label_b]].forEach(function (x) {
          var col = $("cmp-col-" + x[0]);
          col.appendChild(el("h3", {}, x[0].toUpperCase() + ": " + x[2]));
          done.push(api("/api/runs/" + x[1] + "/sections").then(function (d) {
            var keep = d.sections.filter(function (s) {
              return ["arrests", "yearly", "cohorts", "cascade-rates", "cascade"]
                .indexOf(s.id) >= 0;
            });
            return PurgeCharts.renderSections(col, keep, {prefix: "cmp" + x[0] + "-"});
          }));
        });
        return Promise.all(done);
      })
      .then(function () { $("tab-compare").setAttribute("data-rendered", a + "-" + b); })
      .catch(function (e) { $("cmp-error").textContent = e.message; });
  }

  /* ------------------------------------------------------------------ person */
  function searchPerson(ev) {
    if (ev) ev.preventDefault();
    var q = $("person-q").value.trim();
    $("person-error").textContent = "";
    $("person-results").innerHTML = "";
    if (!q) return;
    var rid = personRun();
    if (!rid) {
      $("person-error").textContent = "no finished run yet: run a scenario first (Runs)";
      return;
    }
    api("/api/runs/" + rid + "/people?q=" + encodeURIComponent(q))
      .then(function (list) {
        if (!list.length) { $("person-error").textContent = "nobody matches " + q; return; }
        list.forEach(function (p) {
          var li = el("li");
          var b = el("button", {type: "button", "data-person": p.id},
                     p.label + " — " + (p.fate || p.final_state) +
                     (p.cohorts ? "; " + p.cohorts : ""));
          b.addEventListener("click", function () { openPerson(String(p.id)); });
          li.appendChild(b);
          $("person-results").appendChild(li);
        });
        if (list.length === 1) openPerson(String(list[0].id));
      })
      .catch(function (e) { $("person-error").textContent = e.message; });
  }

  /* the run whose people are searched: the chosen one, else the latest finished run */
  function personRun() {
    if (!state.current) {
      var done = state.runs.filter(function (j) { return j.status === "done"; });
      if (done.length) state.current = done[0].id;  /* the list is newest first */
    }
    var job = state.runs.filter(function (j) { return j.id === state.current; })[0];
    $("person-run").textContent = state.current ? "Searching run " + state.current +
      (job ? " (" + describe(job) + ")" : "") + "." : "";
    return state.current;
  }

  function namings(rows) {
    return rows.map(function (r) { return r.by + " (" + r.date + ")"; }).join("; ");
  }

  function namedText(s) {
    var out = [];
    if (s.dead_before_run) {
      if (s.named_after.length) {
        out.push("Named after his death (before the run began): " + namings(s.named_after));
      }
      return out;
    }
    var when = s.arrested ? "his arrest on " + s.arrested :
      (s.final_state === "shot" || s.final_state === "died" ? "his death" : "the end of the run");
    if (s.named_by.length) out.push("Named before " + when + ": " + namings(s.named_by));
    if (s.named_after.length) {
      out.push("Named " + (s.arrested ? "after his arrest" : "after his death") +
               " (these cannot explain it): " + namings(s.named_after));
    }
    return out;
  }

  function openPerson(who) {
    showTab("person");
    var box = $("person-story");
    box.innerHTML = "<p class='note'>loading…</p>";
    box.removeAttribute("data-person");
    return api("/api/runs/" + state.current + "/story?person=" + encodeURIComponent(who))
      .then(function (d) {
        var s = d.story;
        box.innerHTML = "";
        box.appendChild(el("h2", {class: "section-title"}, s.person));
        box.appendChild(el("p", {class: "note"}, s.post.replace(/_/g, " ") +
          (s.cohorts ? "; " + s.cohorts : "") + "; at the end: " + s.at_the_end +
          (s.named.length ? ". He named: " + s.named.slice(0, 12).join("; ") +
           (s.named.length > 12 ? " …" : "") : "") + "."));
        var nb = el("div", {id: "person-named-by"});
        namedText(s).forEach(function (text) { nb.appendChild(el("p", {class: "note"}, text)); });
        box.appendChild(nb);
        var t = el("div", {class: "chart", id: "person-timeline"});
        var g = el("div", {class: "chart", id: "person-graph"});
        box.appendChild(t);
        box.appendChild(g);
        var rows = s.events.map(function (e) {
          return [e.date, e.what || e.event, e.cause, e.operation || "", e.by];
        }).concat(s.acts.map(function (e) {
          return [e.date, "through him: " + (e.what || e.event.replace(/_/g, " ")), "", "",
                  e.person];
        })).sort(function (x, y) { return x[0] < y[0] ? -1 : x[0] > y[0] ? 1 : 0; });
        var table = el("table", {id: "person-events"});
        var hr = el("tr");
        ["date", "event", "cause", "operation", "who"].forEach(function (h) {
          hr.appendChild(el("th", {}, h));
        });
        var thead = el("thead");
        thead.appendChild(hr);
        table.appendChild(thead);
        var tb = el("tbody");
        rows.forEach(function (r) {
          var tr = el("tr");
          r.forEach(function (c) { tr.appendChild(el("td", {}, c)); });
          tb.appendChild(tr);
        });
        table.appendChild(tb);
        var wrap = el("div", {class: "table-wrap"});
        wrap.appendChild(table);
        box.appendChild(wrap);
        return Promise.all([
          PurgeCharts.plot(t, d.timeline),
          PurgeCharts.plot(g, d.graph, function (ev) {
            var p = ev.points && ev.points[0];
            if (p && p.customdata !== undefined && String(p.customdata) !== String(s.id)) {
              openPerson(String(p.customdata));
            }
          })
        ]).then(function () { box.setAttribute("data-person", String(s.id)); });
      })
      .catch(function (e) {
        box.innerHTML = "";
        $("person-error").textContent = e.message;
      });
  }

  /* ------------------------------------------------------------------ start */
  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("nav.tabs button").forEach(function (b) {
      b.addEventListener("click", function () { showTab(b.getAttribute("data-tab")); });
    });
    $("scenario").addEventListener("change", function () { loadParams($("scenario").value); });
    $("reset-btn").addEventListener("click", function () { loadParams($("scenario").value); });
    $("run-form").addEventListener("submit", submitRun);
    $("cmp-btn").addEventListener("click", runCompare);
    ["cmp-a", "cmp-b"].forEach(function (sid) {
      $(sid).addEventListener("change", function () { $(sid).setAttribute("data-user", "1"); });
    });
    $("person-form").addEventListener("submit", searchPerson);
    loadScenarios().then(refreshRuns).then(function () {
      document.body.setAttribute("data-ready", "1");
    }).catch(function (e) { $("status-line").textContent = "error: " + e.message; });
  });
})();
