/* Greenhood's bridge to the Telegram app that opened the dashboard (a Mini App).
 *
 * What we use of Telegram's own telegram-web-app.js, kept here so that no script comes
 * from another site: Telegram puts the launch parameters in the address's fragment
 * (tgWebAppData: the signed init data; tgWebAppThemeParams: the theme's colours;
 * tgWebAppVersion, tgWebAppPlatform), and takes events through TelegramWebviewProxy
 * (mobile apps), window.external.notify (desktop) or postMessage (Telegram Web).
 * The fragment is kept for the tab's life (sessionStorage), so a reload keeps working.
 */
(function () {
  "use strict";

  var STORE = "greenhood-tma-launch";
  var WEB_ORIGIN = "https://web.telegram.org";

  function launchParams() {
    var hash = window.location.hash.slice(1);
    var params = new URLSearchParams(hash);
    if (params.has("tgWebAppData")) {
      try {
        window.sessionStorage.setItem(STORE, hash);
      } catch (ignored) {
        /* storage refused (private mode): the fragment is enough for this load */
      }
      return params;
    }
    try {
      var saved = window.sessionStorage.getItem(STORE);
      if (saved) {
        return new URLSearchParams(saved);
      }
    } catch (ignored) {
      /* as above */
    }
    return params;
  }

  var params = launchParams();
  var version = params.get("tgWebAppVersion") || "6.0";

  function applyTheme(theme) {
    var root = document.documentElement;
    var applied = false;
    Object.keys(theme || {}).forEach(function (key) {
      var value = theme[key];
      if (/^[a-z_]+$/.test(key) && /^#[0-9a-fA-F]{3,8}$/.test(value)) {
        root.style.setProperty("--tg-theme-" + key.replace(/_/g, "-"), value);
        applied = true;
      }
    });
    if (applied) {
      root.classList.add("tg-themed");
    }
  }

  function parseJson(text) {
    try {
      return JSON.parse(text || "{}");
    } catch (ignored) {
      return {};
    }
  }

  function postEvent(type, data) {
    var payload = data || {};
    if (window.TelegramWebviewProxy && window.TelegramWebviewProxy.postEvent) {
      window.TelegramWebviewProxy.postEvent(type, JSON.stringify(payload));
      return true;
    }
    if (window.external && "notify" in window.external) {
      window.external.notify(JSON.stringify({ eventType: type, eventData: payload }));
      return true;
    }
    if (window.parent !== window) {
      window.parent.postMessage(JSON.stringify({ eventType: type, eventData: payload }), WEB_ORIGIN);
      return true;
    }
    return false;
  }

  function atLeast(wanted) {
    var have = version.split(".").map(Number);
    var need = wanted.split(".").map(Number);
    for (var i = 0; i < need.length; i += 1) {
      var a = have[i] || 0;
      if (a !== need[i]) {
        return a > need[i];
      }
    }
    return true;
  }

  function receiveEvent(type, data) {
    if (type === "theme_changed" && data && data.theme_params) {
      applyTheme(data.theme_params);
    }
  }

  window.Telegram = window.Telegram || {};
  window.Telegram.WebView = window.Telegram.WebView || {};
  window.Telegram.WebView.receiveEvent = receiveEvent;
  window.addEventListener("message", function (event) {
    if (event.source !== window.parent || event.origin !== WEB_ORIGIN) {
      return;
    }
    var message = typeof event.data === "string" ? parseJson(event.data) : {};
    receiveEvent(message.eventType, message.eventData);
  });

  applyTheme(parseJson(params.get("tgWebAppThemeParams")));

  window.GreenhoodTMA = {
    initData: params.get("tgWebAppData") || "",
    ready: function () {
      postEvent("web_app_ready");
      postEvent("web_app_expand");
    },
    openLink: function (url) {
      if (!postEvent("web_app_open_link", { url: url })) {
        window.open(url, "_blank", "noopener");
      }
    },
    download: function (url, name) {
      // Telegram 8.0+ saves the file itself; elsewhere the browser follows the link.
      if (atLeast("8.0") && postEvent("web_app_request_file_download", { url: url, file_name: name })) {
        return;
      }
      window.location.assign(url);
    },
  };
})();
