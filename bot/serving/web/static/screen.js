/* A contest's public screen, made to be projected: the teams' ranking and the totals,
 * fetched again every few seconds. A failed fetch keeps what is shown and says so. */
(function () {
  "use strict";

  var texts = JSON.parse(document.getElementById("texts").textContent);
  var lang = document.body.getAttribute("data-lang");
  var every = Number(document.body.getAttribute("data-refresh")) || 5;
  var main = document.getElementById("main");
  var week = document.getElementById("week");
  var live = document.getElementById("live");
  var address = window.location.pathname.replace(/\/$/, "") + "/data?lang=" + encodeURIComponent(lang);
  var shown = false;

  function el(tag, className, text) {
    var node = document.createElement(tag);
    if (className) {
      node.className = className;
    }
    if (text !== undefined && text !== null) {
      node.textContent = text;
    }
    return node;
  }

  function ranking(data) {
    var list = el("ol", "ranking");
    if (!data.rows.length) {
      return el("p", "status", texts.teams_waiting);
    }
    data.rows.forEach(function (row) {
      var item = el("li", "rank-row");
      item.appendChild(el("span", "rank", row.rank));
      var body = el("div", "rank-body");
      body.appendChild(el("span", "team", row.team));
      var bar = el("div", "bar");
      var fill = el("div", "bar-fill");
      fill.style.width = Math.round(row.share * 100) + "%";
      bar.appendChild(fill);
      body.appendChild(bar);
      item.appendChild(body);
      var score = el("div", "score");
      score.appendChild(el("span", "score-value", row.per_member));
      score.appendChild(el("span", "score-label", data.per_member));
      item.appendChild(score);
      list.appendChild(item);
    });
    return list;
  }

  function totals(data) {
    var box = el("dl", "totals");
    data.totals.forEach(function (item) {
      var cell = el("div", "total");
      cell.appendChild(el("dd", null, item.value));
      cell.appendChild(el("dt", null, item.label));
      box.appendChild(cell);
    });
    return box;
  }

  function render(data) {
    document.getElementById("name").textContent = data.name;
    week.textContent = data.open ? data.week : texts.closed + " · " + data.week;
    var parts = [ranking(data)];
    if (data.others) {
      parts.push(el("p", "others", data.others));
    }
    parts.push(totals(data));
    main.replaceChildren.apply(main, parts);
    live.hidden = !data.open;
    live.classList.remove("stale");
    shown = true;
    document.body.setAttribute("data-state", "ready");
  }

  function load() {
    fetch(address, { cache: "no-store" })
      .then(function (response) {
        if (!response.ok) {
          throw new Error(String(response.status));
        }
        return response.json();
      })
      .then(render)
      .catch(function () {
        if (shown) {
          live.classList.add("stale");
        } else {
          main.replaceChildren(el("p", "status error", texts.error));
        }
      })
      .then(function () {
        window.setTimeout(load, every * 1000);
      });
  }

  load();
})();
