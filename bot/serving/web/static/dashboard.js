/* The organisers' dashboard: asks the server for the figures with the Mini App's signed
 * init data, and lays them out. Every text goes in as text (textContent); the charts are
 * SVG made and escaped by the server, parsed as SVG (never as HTML). */
(function () {
  "use strict";

  var REFRESH_MS = 60000;
  var texts = JSON.parse(document.getElementById("texts").textContent);
  var lang = document.body.getAttribute("data-lang");
  var tma = window.GreenhoodTMA;
  var main = document.getElementById("main");
  var week = document.getElementById("week");
  var refresh = document.getElementById("refresh");
  var loading = false;

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

  function chart(markup) {
    if (!markup) {
      return null;
    }
    var figure = el("figure", "chart-box");
    var doc = new DOMParser().parseFromString(markup, "image/svg+xml");
    var svg = doc.documentElement;
    if (svg.nodeName.toLowerCase() === "svg") {
      figure.appendChild(document.importNode(svg, true));
      // The chart's own title, shown under it.
      var title = svg.querySelector("title");
      if (title) {
        figure.appendChild(el("figcaption", "hint", title.textContent));
      }
    }
    return figure;
  }

  function section(title, id) {
    var node = el("section", "card");
    node.id = id;
    node.appendChild(el("h2", null, title));
    return node;
  }

  function facts(items) {
    var list = el("dl", "facts");
    items.forEach(function (item) {
      var row = el("div", "fact");
      row.appendChild(el("dt", null, item.label));
      row.appendChild(el("dd", null, item.value));
      list.appendChild(row);
    });
    return list;
  }

  function table(headers, rows, keys, numeric) {
    var wrap = el("div", "table-wrap");
    var node = el("table");
    var head = el("tr");
    headers.forEach(function (label, index) {
      head.appendChild(el("th", numeric[index] ? "num" : null, label));
    });
    node.appendChild(el("thead")).appendChild(head);
    var body = el("tbody");
    rows.forEach(function (row) {
      var line = el("tr");
      keys.forEach(function (key, index) {
        line.appendChild(el("td", numeric[index] ? "num" : "text", row[key]));
      });
      body.appendChild(line);
    });
    node.appendChild(body);
    wrap.appendChild(node);
    return wrap;
  }

  function showError(message) {
    main.replaceChildren(el("p", "status error", message));
  }

  function overview(data) {
    var node = section(texts.overview, "overview");
    var tiles = el("div", "tiles");
    data.overview.forEach(function (item) {
      var tile = el("div", "tile");
      tile.appendChild(el("span", "tile-value", item.value));
      tile.appendChild(el("span", "tile-label", item.label));
      if (item.detail) {
        tile.appendChild(el("span", "hint", item.detail));
      }
      tiles.appendChild(tile);
    });
    node.appendChild(tiles);
    return node;
  }

  function contests(data) {
    var node = section(texts.contests, "contests");
    if (!data.contests.length) {
      node.appendChild(el("p", "hint", texts.no_contest));
    }
    data.contests.forEach(function (contest) {
      var box = el("article", "contest");
      box.appendChild(el("h3", null, contest.name));
      box.appendChild(facts(contest.facts));
      if (contest.standings.length) {
        box.appendChild(
          table(
            [texts.rank, texts.team, texts.per_member, texts.team_actions, texts.active],
            contest.standings,
            ["rank", "team", "per_member", "actions", "active"],
            [true, false, true, true, true]
          )
        );
      } else {
        box.appendChild(el("p", "hint", texts.no_standing));
      }
      var figure = chart(contest.chart);
      if (figure) {
        box.appendChild(figure);
      }
      var link = el("button", "button secondary screen-link", texts.screen_link);
      link.type = "button";
      link.addEventListener("click", function () {
        tma.openLink(contest.screen_url);
      });
      box.appendChild(link);
      box.appendChild(el("p", "hint", texts.screen_hint));
      var address = el("code", "address", contest.screen_url);
      box.appendChild(address);
      node.appendChild(box);
    });
    return node;
  }

  function challenges(data) {
    var node = section(texts.challenges, "challenges");
    if (!data.challenges.length) {
      node.appendChild(el("p", "hint", texts.no_challenge));
    }
    data.challenges.forEach(function (challenge) {
      var box = el("article", "challenge");
      box.appendChild(el("h3", null, challenge.title));
      var bar = el("div", "progress");
      var fill = el("div", "progress-fill");
      fill.style.width = Math.round(challenge.progress * 100) + "%";
      bar.appendChild(fill);
      box.appendChild(bar);
      box.appendChild(el("p", "progress-text", challenge.progress_text));
      box.appendChild(facts(challenge.facts));
      if (challenge.pledge) {
        var pledge = el("blockquote", "pledge");
        pledge.appendChild(el("strong", null, texts.pledge + " "));
        pledge.appendChild(document.createTextNode(challenge.pledge));
        box.appendChild(pledge);
      }
      var figure = chart(challenge.chart);
      if (figure) {
        box.appendChild(figure);
      }
      node.appendChild(box);
    });
    return node;
  }

  function actions(data) {
    var node = section(texts.actions, "actions");
    var figure = chart(data.actions.chart);
    if (!figure) {
      node.appendChild(el("p", "hint", data.actions.empty));
      return node;
    }
    node.appendChild(figure);
    var co2 = chart(data.actions.co2_chart);
    if (co2) {
      node.appendChild(co2);
    }
    if (data.actions.rows.length) {
      node.appendChild(
        table(
          [texts.category, texts.category_actions, texts.category_co2],
          data.actions.rows,
          ["category", "actions", "co2"],
          [false, true, true]
        )
      );
    }
    return node;
  }

  function offers(data) {
    var node = section(texts.offers, "offers");
    node.appendChild(facts(data.offers.facts));
    var figure = chart(data.offers.chart);
    if (figure) {
      node.appendChild(figure);
    }
    return node;
  }

  function moderation(data) {
    var node = section(texts.moderation, "moderation");
    node.appendChild(facts(data.moderation));
    return node;
  }

  function exports(data) {
    var node = section(texts.exports, "exports");
    var note = el("p", "hint");
    data.exports.forEach(function (item) {
      var button = el("button", "button download", texts.download + " " + item.label);
      button.type = "button";
      button.setAttribute("data-kind", item.kind);
      button.addEventListener("click", function () {
        download(item, button, note);
      });
      node.appendChild(button);
    });
    node.appendChild(note);
    return node;
  }

  function download(item, button, note) {
    button.disabled = true;
    note.textContent = texts.downloading;
    fetch("api/exports/" + encodeURIComponent(item.kind), {
      method: "POST",
      headers: { Authorization: "tma " + tma.initData },
      cache: "no-store",
    })
      .then(function (response) {
        if (!response.ok) {
          throw new Error(String(response.status));
        }
        return response.json();
      })
      .then(function (answer) {
        note.textContent = "";
        tma.download(new URL(answer.url, window.location.href).href, item.kind + ".csv");
      })
      .catch(function () {
        note.textContent = texts.download_failed;
      })
      .then(function () {
        button.disabled = false;
      });
  }

  function render(data) {
    week.textContent = data.week;
    main.replaceChildren(
      overview(data),
      contests(data),
      challenges(data),
      actions(data),
      offers(data),
      moderation(data),
      exports(data),
      el("p", "hint updated", texts.updated + " " + new Date().toLocaleTimeString(lang))
    );
    document.body.setAttribute("data-state", "ready");
  }

  function load() {
    if (loading) {
      return;
    }
    if (!tma.initData) {
      showError(texts.outside_telegram);
      document.body.setAttribute("data-state", "denied");
      return;
    }
    loading = true;
    fetch("api/dashboard?lang=" + encodeURIComponent(lang), {
      headers: { Authorization: "tma " + tma.initData },
      cache: "no-store",
    })
      .then(function (response) {
        if (response.status === 401 || response.status === 403) {
          main.replaceChildren();
          showError(response.status === 401 ? texts.error_401 : texts.error_403);
          document.body.setAttribute("data-state", "denied");
          return null;
        }
        if (!response.ok) {
          throw new Error(String(response.status));
        }
        return response.json().then(render);
      })
      .catch(function () {
        var updated = main.querySelector(".updated");
        if (document.body.getAttribute("data-state") === "ready" && updated) {
          // A refresh failed: the figures shown stay, the line under them says so.
          updated.textContent = texts.error_other;
          return;
        }
        showError(texts.error_other);
        document.body.setAttribute("data-state", "error");
      })
      .then(function () {
        loading = false;
        refresh.hidden = document.body.getAttribute("data-state") === "denied";
      });
  }

  refresh.addEventListener("click", load);
  tma.ready();
  load();
  window.setInterval(function () {
    if (document.body.getAttribute("data-state") === "ready" && !document.hidden) {
      load();
    }
  }, REFRESH_MS);
})();
