/* poli-kg query page: turns the plain form into the YASGUI editor (Yasqe) with a result
 * viewer (Yasr), runs the example queries in place and keeps the download links in step
 * with the editor. Without this script (or without YASGUI) the page stays a plain GET
 * form to the endpoint. Configuration comes from <script id="qp-config" type="application/json">.
 */
(function () {
  "use strict";

  var configEl = document.getElementById("qp-config");
  if (!configEl || !window.Yasgui || !window.Yasgui.Yasqe || !window.Yasgui.Yasr) return;
  var config = JSON.parse(configEl.textContent);
  var Yasqe = window.Yasgui.Yasqe;
  var Yasr = window.Yasgui.Yasr;

  var form = document.getElementById("qp-form");
  var textarea = document.getElementById("qp-query");
  var editorEl = document.getElementById("qp-editor");
  var resultsEl = document.getElementById("qp-results");
  var statusEl = document.getElementById("qp-status");
  var noticeEl = document.getElementById("qp-notice");
  var linksEl = document.getElementById("qp-download-links");
  var hintEl = document.getElementById("qp-download-hint");
  var endpoint = new URL(config.endpoint, window.location.href).toString();
  var base = config.base;

  function pageUrl(params) {
    var url = new URL(window.location.href);
    url.search = "";
    url.hash = "";
    if (config.lang_param) url.searchParams.set("lang", config.lang_param);
    Object.keys(params).forEach(function (key) { url.searchParams.set(key, params[key]); });
    return url.toString();
  }

  // Completion of PREFIX declarations from the project's own prefixes (the bundled list of
  // prefix.cc is not used, and nothing is fetched from the network or kept in localStorage).
  var prefixCompletions = Object.keys(config.prefixes).sort().map(function (p) {
    return p + ": <" + config.prefixes[p] + ">";
  });
  if (!Yasqe.Autocompleters["poliPrefixes"]) {
    Yasqe.forkAutocompleter("prefixes", {
      name: "poliPrefixes",
      persistenceId: null,
      get: function () { return Promise.resolve(prefixCompletions); }
    }, false);
  }

  // The endpoint predefines the project's prefixes: the editor's syntax check knows them too
  // (its SPARQL mode starts each parse with no prefix declared; that start state is extended).
  var sparqlMode = Yasqe.modes && Yasqe.modes.sparql11;
  if (sparqlMode && !sparqlMode.poliPredefined) {
    var predefinedMode = function (cmConfig, modeConfig) {
      var mode = sparqlMode(cmConfig, modeConfig);
      var startState = mode.startState;
      mode.startState = function () {
        var state = startState.apply(mode, arguments);
        Object.keys(config.prefixes).forEach(function (p) {
          if (state.prefixes[p] === undefined) state.prefixes[p] = config.prefixes[p];
        });
        return state;
      };
      return mode;
    };
    predefinedMode.poliPredefined = true;
    Yasqe.defineMode("sparql11", predefinedMode);
  }

  var yasqe = new Yasqe(editorEl, {
    value: textarea.value,
    persistenceId: null,
    consumeShareLink: null,
    createShareableLink: function (instance) {
      return pageUrl({ query: instance.getValue() });
    },
    autocompleters: ["poliPrefixes", "variables"],
    editorHeight: "360px",
    collapsePrefixesOnLoad: !config.autorun,
    resizeable: true,
    showQueryButton: true,
    requestConfig: {
      endpoint: endpoint,
      method: "POST",
      acceptHeaderSelect: "application/sparql-results+json,*/*;q=0.9",
      acceptHeaderGraph: "text/turtle,*/*;q=0.9"
    }
  });
  // The textarea stays in the form (hidden) so that the form still submits the editor's text.
  textarea.hidden = true;
  editorEl.hidden = false;
  yasqe.refresh();

  // The result viewer is drawn at the first response; until then the page's hint stays.
  var yasr = null;
  function getYasr() {
    if (yasr) return yasr;
    while (resultsEl.firstChild) resultsEl.removeChild(resultsEl.firstChild);
    yasr = new Yasr(resultsEl, yasrConfig);
    return yasr;
  }
  var yasrConfig = {
    persistenceId: null,
    prefixes: function () {
      var prefixes = {};
      Object.keys(config.prefixes).forEach(function (p) { prefixes[p] = config.prefixes[p]; });
      var fromQuery = yasqe.getPrefixesFromQuery();
      Object.keys(fromQuery).forEach(function (p) { prefixes[p] = fromQuery[p]; });
      return prefixes;
    }
  };

  // IRIs of the dataset (under the base IRI) are served by this host: link them locally.
  // Links open in a new tab (Yasr's default), so the results stay where they are.
  function localiseLinks(root) {
    var anchors = root.querySelectorAll("a[href]");
    for (var i = 0; i < anchors.length; i++) {
      var a = anchors[i];
      var href = a.getAttribute("href");
      if (href.indexOf(base) === 0) {
        a.setAttribute("href", config.root + href.slice(base.length));
        a.setAttribute("title", href);
        a.classList.add("qp-local-iri");
      }
      if (a.getAttribute("target") === "_blank") a.setAttribute("rel", "noopener");
      a.removeAttribute("ref");  // Yasr writes ref= for rel=
    }
  }
  new MutationObserver(function () { localiseLinks(resultsEl); })
    .observe(resultsEl, { childList: true, subtree: true });

  function setStatus(text, kind) {
    statusEl.textContent = text;
    statusEl.className = "qp-status" + (kind ? " qp-status--" + kind : "");
  }

  // A result cut at the endpoint's cap (X-Result-Truncated) is announced above the results,
  // with how to page through the rest.
  function showTruncation(response) {
    var headers = response && response.headers && response.headers.get ? response.headers : null;
    var truncated = headers && headers.get("X-Result-Truncated") === "true";
    noticeEl.hidden = !truncated;
    if (!truncated) return;
    var limit = parseInt(headers.get("X-Result-Count"), 10) || config.max_results;
    noticeEl.textContent = config.labels.truncated
      .split("{limit2}").join(String(2 * limit))
      .split("{limit}").join(String(limit));
  }

  yasqe.on("query", function () {
    setStatus(config.labels.running, "busy");
    noticeEl.hidden = true;
    resultsEl.setAttribute("aria-busy", "true");
  });
  yasqe.on("queryResponse", function (_instance, response, duration) {
    showTruncation(response);
    getYasr().setResponse(response, duration);
    resultsEl.removeAttribute("aria-busy");
    var failed = response instanceof Error || (response && response.ok === false);
    if (failed) setStatus(config.labels.failed, "error");
    else setStatus(config.labels.done.replace("{ms}", String(duration)), "ok");
  });

  // Download links for the editor's query, in the formats that suit its form.
  function compactQuery(query) {
    var lines = query.split("\n");
    var decl = /^\s*PREFIX\s+([A-Za-z][\w.-]*|)\s*:\s*<[^>]*>\s*$/i;
    return lines.filter(function (line, index) {
      var match = decl.exec(line);
      if (!match) return true;
      var rest = lines.slice(0, index).concat(lines.slice(index + 1)).join("\n");
      var label = match[1].replace(/[.*+?^${}()|[\]\\-]/g, "\\$&");
      return new RegExp("(^|[^\\w.-])" + label + ":").test(rest);
    }).join("\n");
  }
  function updateDownloads() {
    var type = yasqe.getQueryType();
    var formats = config.formats[type] || [];
    var query = compactQuery(yasqe.getValue());
    while (linksEl.firstChild) linksEl.removeChild(linksEl.firstChild);
    formats.forEach(function (f) {
      var url = new URL(config.endpoint, window.location.href);
      url.searchParams.set("query", query);
      url.searchParams.set("format", f.format);
      var a = document.createElement("a");
      a.className = "qp-download";
      a.href = url.pathname + url.search;
      a.dataset.format = f.format;
      a.setAttribute("download", "poli-kg-results." + f.ext);
      a.rel = "nofollow";
      a.textContent = f.label;
      var li = document.createElement("li");
      li.appendChild(a);
      linksEl.appendChild(li);
    });
    hintEl.hidden = formats.length > 0;
  }
  var pending = null;
  yasqe.on("change", function () {
    textarea.value = yasqe.getValue();
    if (pending) clearTimeout(pending);
    pending = setTimeout(updateDownloads, 250);
  });
  updateDownloads();

  function run() {
    textarea.value = yasqe.getValue();
    updateDownloads();
    yasqe.query().catch(function () { /* shown by Yasr and the status line */ });
  }

  form.addEventListener("submit", function (event) {
    event.preventDefault();
    run();
  });

  // Examples: load into the editor, run, and make the address bar point to the example.
  var exampleLinks = document.querySelectorAll("a.qp-example[data-example]");
  Array.prototype.forEach.call(exampleLinks, function (link) {
    link.addEventListener("click", function (event) {
      var name = link.dataset.example;
      if (!(name in config.examples)) return;
      if (event.button !== 0 || event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) return;
      event.preventDefault();
      Array.prototype.forEach.call(exampleLinks, function (other) {
        other.classList.remove("is-active");
        other.removeAttribute("aria-current");
      });
      link.classList.add("is-active");
      link.setAttribute("aria-current", "true");
      yasqe.setValue(config.examples[name]);
      if (window.history && window.history.replaceState) {
        window.history.replaceState(null, "", pageUrl({ example: name }));
      }
      run();
      if (editorEl.getBoundingClientRect().top < 0) editorEl.scrollIntoView({ block: "start" });
    });
  });

  if (config.autorun) run();
})();
