/* poli-kg query page: a plain form (a labelled textarea, a GET to the endpoint) that this
 * script turns into the YASGUI editor (Yasqe) with a result viewer (Yasr) at its first use,
 * runs the example queries in place and keeps the download links in step with the editor.
 * Without this script (or without YASGUI) the page stays a plain GET form to the endpoint.
 * Configuration comes from <script id="qp-config" type="application/json">.
 *
 * YASGUI is a megabyte of script: parsing it while the page loads would hold the page up
 * (on a phone, for seconds), so it is loaded only when the page is used — focus or typing in
 * the textarea, the run button, an example, or a page asked to run a query at once
 * (?example=, ?query=). The textarea stays usable meanwhile; the editor takes over its text,
 * its selection and its focus.
 *
 * Everything the editor completes and the results show comes from this server: prefixes
 * from the page's configuration, classes and properties from /query/terms.json, labels of
 * the results' IRIs from /query/labels.json (YASGUI's own completers, which ask Linked Open
 * Vocabularies, are never enabled). Results are written for reading in the page language
 * (numbers, dates, euro amounts, percentages; IRIs by their label, linked to their page);
 * the "raw values" switch shows them as the endpoint sent them.
 */
(function () {
  "use strict";

  var configEl = document.getElementById("qp-config");
  var form = document.getElementById("qp-form");
  var textarea = document.getElementById("qp-query");
  var editorEl = document.getElementById("qp-editor");
  var statusEl = document.getElementById("qp-status");
  if (!configEl || !form || !textarea || !editorEl || !window.Promise) return;
  var config = JSON.parse(configEl.textContent);

  function pageUrl(params) {
    var url = new URL(window.location.href);
    url.search = "";
    url.hash = "";
    if (config.lang_param) url.searchParams.set("lang", config.lang_param);
    Object.keys(params).forEach(function (key) { url.searchParams.set(key, params[key]); });
    return url.toString();
  }

  function setStatus(text, kind) {
    statusEl.textContent = text;
    statusEl.className = "qp-status" + (kind ? " qp-status--" + kind : "");
  }

  // -- YASGUI at first use -----------------------------------------------------------------
  // Its stylesheet and its script, both from this host (named by the editor's placeholder);
  // the editor is drawn once both have arrived, since CodeMirror measures its lines as it
  // draws them.
  function load(tag, attributes) {
    return new Promise(function (resolve, reject) {
      var element = document.createElement(tag);
      Object.keys(attributes).forEach(function (name) { element[name] = attributes[name]; });
      element.addEventListener("load", resolve);
      element.addEventListener("error", reject);
      document.head.appendChild(element);
    });
  }
  var editor = null;  // the promise of the editor, once asked for
  var drawn = null;   // the editor, once drawn
  function upgrade(reason) {
    if (!editor) {
      editor = Promise.all([
        load("link", { rel: "stylesheet", href: editorEl.dataset.stylesheetHref }),
        load("script", { src: editorEl.dataset.scriptSrc })
      ]).then(function () {
        var yasgui = window.Yasgui;
        if (!yasgui || !yasgui.Yasqe || !yasgui.Yasr) throw new Error("YASGUI is not available");
        drawn = start(reason);
        return drawn;
      });
      editor.catch(function () { /* the plain form goes on working */ });
    }
    return editor;
  }
  // What needs the editor waits for it; should YASGUI fail to load, the plain page does it.
  function withEditor(reason, use, otherwise) {
    if (!drawn) setStatus(config.labels.loading, "busy");
    upgrade(reason).then(use, function () {
      setStatus("");
      otherwise();
    });
  }

  textarea.addEventListener("focus", function () { upgrade("edit"); });
  textarea.addEventListener("input", function () { upgrade("edit"); });

  form.addEventListener("submit", function (event) {
    event.preventDefault();
    withEditor("run", function (api) { api.run(); }, function () { form.submit(); });
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
      if (drawn) drawn.setValue(config.examples[name]);
      else textarea.value = config.examples[name];
      if (window.history && window.history.replaceState) {
        window.history.replaceState(null, "", pageUrl({ example: name }));
      }
      withEditor("example", function (api) {
        api.run();
        if (editorEl.getBoundingClientRect().top < 0) editorEl.scrollIntoView({ block: "start" });
      }, function () { window.location.assign(link.href); });
    });
  });

  if (config.autorun) withEditor("autorun", function (api) { api.run(); }, function () {});
  // The page's own query is its prologue (every prefix) and a few lines of query: those are
  // shown, as the editor shows them with the prologue folded.
  else textarea.scrollTop = textarea.scrollHeight;

  // -- the editor --------------------------------------------------------------------------
  // Drawn in place of the textarea; answers the page's { run, setValue }.
  function start(reason) {
    var Yasqe = window.Yasgui.Yasqe;
    var Yasr = window.Yasgui.Yasr;

    var resultsEl = document.getElementById("qp-results");
    var noticeEl = document.getElementById("qp-notice");
    var linksEl = document.getElementById("qp-download-links");
    var hintEl = document.getElementById("qp-download-hint");
    var endpoint = new URL(config.endpoint, window.location.href).toString();
    var base = config.base;

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

    // Classes and properties of the dataset, asked for once, when first completed.
    var termsPromise = null;
    var termsByIri = {};
    function datasetTerms() {
      if (!termsPromise) {
        termsPromise = fetch(config.terms_url, { headers: { Accept: "application/json" } })
          .then(function (r) { return r.ok ? r.json() : { classes: [], properties: [] }; })
          .then(function (terms) {
            terms.classes.concat(terms.properties).forEach(function (t) { termsByIri[t.iri] = t; });
            return terms;
          })
          .catch(function () { return { classes: [], properties: [] }; });
      }
      return termsPromise;
    }

    function fold(text) {
      return String(text).normalize("NFD").replace(/[\u0300-\u036f]/g, "").toLowerCase();
    }
    function termLabel(term) {
      return term.label[config.lang] || term.label[config.lang === "en" ? "it" : "en"] || "";
    }
    // A term matches what was typed: the beginning of its IRI or prefixed name, or the beginning
    // of its local name or of a word of its label (after the typed prefix, if any: "pkg:managing"
    // finds pkg:haSoggettoGestore, "has managing body").
    function termMatches(term, token) {
      var typed = token.string || "";
      if (!typed.trim()) return true;
      if (term.iri.indexOf(token.autocompletionString || typed) === 0) return true;
      if (term.prefixed && fold(term.prefixed).indexOf(fold(typed)) === 0) return true;
      var prefix = token.tokenPrefix || "";
      var namespace = token.tokenPrefixUri || (prefix && config.prefixes[prefix.slice(0, -1)]);
      if (prefix && !(namespace && term.iri.indexOf(namespace) === 0)) return false;
      var wanted = fold(typed.slice(prefix.length));
      if (!wanted || /[:/<#]/.test(wanted)) return false;
      var label = fold(termLabel(term));
      if (fold(term.iri.split(/[#/]/).pop()).indexOf(wanted) === 0) return true;
      return label.indexOf(wanted) === 0 || label.split(/[^a-z0-9]+/).some(function (w) {
        return w.indexOf(wanted) === 0;
      });
    }
    var MAX_SUGGESTIONS = 50;
    var hintTerms = {};
    function termCompleter(base, name, kind) {
      Yasqe.forkAutocompleter(base, {
        name: name,
        autoShow: true,
        persistenceId: null,
        get: function (_yasqe, token) {
          return datasetTerms().then(function (terms) {
            return terms[kind].filter(function (t) { return termMatches(t, token || {}); })
              .slice(0, MAX_SUGGESTIONS).map(function (t) { return t.iri; });
          });
        },
        // The completion is written with the query's prefix, else a predefined one, else <IRI>.
        postProcessSuggestion: function (_yasqe, token, iri) {
          var term = termsByIri[iri];
          var text;
          if (token.tokenPrefix && token.tokenPrefixUri && iri.indexOf(token.tokenPrefixUri) === 0) {
            text = token.tokenPrefix + iri.slice(token.tokenPrefixUri.length);
          } else {
            text = term && term.prefixed ? term.prefixed : "<" + iri + ">";
          }
          hintTerms[text] = term;
          return text;
        },
        postprocessHints: function (_yasqe, hints) {
          return hints.map(function (hint) {
            var term = hintTerms[hint.text];
            if (term) {
              var label = termLabel(term);
              hint.displayText = hint.text + (label ? " \u2014 " + label : "") + " (" + term.count + ")";
            }
            return hint;
          });
        }
      }, false);
    }
    if (!Yasqe.Autocompleters["poliClasses"]) termCompleter("class", "poliClasses", "classes");
    if (!Yasqe.Autocompleters["poliProperties"]) termCompleter("property", "poliProperties", "properties");

    // What the textarea holds when the editor takes over: its text, its selection, its focus
    // and, when it was being edited, how far it was scrolled.
    var focused = document.activeElement === textarea;
    var selection = [textarea.selectionStart, textarea.selectionEnd];
    if (textarea.selectionDirection === "backward") selection.reverse();
    var scrolled = textarea.scrollTop / Math.max(1, textarea.scrollHeight - textarea.clientHeight);
    var yasqe = new Yasqe(editorEl, {
      value: textarea.value,
      persistenceId: null,
      consumeShareLink: null,
      createShareableLink: function (instance) {
        return pageUrl({ query: instance.getValue() });
      },
      autocompleters: ["poliPrefixes", "variables", "poliClasses", "poliProperties"],
      editorHeight: "360px",
      // The prologue folded when the editor comes to run the page's query, not under the
      // reader's eyes or caret (editing) nor over a query they asked for (an example, a link).
      collapsePrefixesOnLoad: reason === "run" && !config.autorun,
      resizeable: true,
      // The text is typed into the editor's own lines (made editable) rather than into a
      // hidden textarea beside them: screen readers follow it better, and the scrolling area
      // of a long query holds what has the keyboard's focus.
      inputStyle: "contenteditable",
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
    yasqe.setSelection(yasqe.posFromIndex(selection[0]), yasqe.posFromIndex(selection[1]));
    if (focused) yasqe.focus();
    if (reason === "edit") {
      var view = yasqe.getScrollInfo();
      yasqe.scrollTo(null, scrolled * Math.max(0, view.height - view.clientHeight));
    }
    // The editable lines are a multi-line text box, named by the page's label of the editor.
    var input = yasqe.getInputField();
    input.setAttribute("role", "textbox");
    input.setAttribute("aria-multiline", "true");
    input.setAttribute("aria-labelledby", "qp-query-label");

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

    // -- results for reading ---------------------------------------------------------------
    var XSD = config.xsd;
    var INTEGERS = ["integer", "int", "long", "short", "byte", "nonNegativeInteger",
      "positiveInteger", "nonPositiveInteger", "negativeInteger", "unsignedLong", "unsignedInt",
      "unsignedShort", "unsignedByte"];
    var DECIMALS = ["decimal", "double", "float"];
    var rawToggle = document.getElementById("qp-raw");
    var iriLabels = {};
    var cellUnits = new WeakMap();  // binding -> "euro" | "percent"

    function escapeHtml(text) {
      return String(text).replace(/[&<>"']/g, function (c) {
        return { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" }[c];
      });
    }
    function datatypeName(binding) {
      var dt = binding.datatype || "";
      return dt.indexOf(XSD) === 0 ? dt.slice(XSD.length) : null;
    }
    function isNumber(binding) {
      var name = binding && binding.type !== "uri" && datatypeName(binding);
      return !!name && (INTEGERS.indexOf(name) >= 0 || DECIMALS.indexOf(name) >= 0);
    }

    // 1194 -> "1.194" (it) / "1,194" (en); 49.80 -> "49,8" / "49.8"; null if not a plain number.
    function formatNumber(lexical, decimals) {
      var text = String(lexical).trim();
      if (!/^[+-]?(\d+\.?\d*|\.\d+)$/.test(text)) {
        var value = Number(text);
        if (!isFinite(value) || Math.abs(value) >= 1e21) return null;
        text = String(value);
        if (!/^[+-]?(\d+\.?\d*|\.\d+)$/.test(text)) return null;
      }
      var sign = text[0] === "-" ? "-" : "";
      text = text.replace(/^[+-]/, "");
      var parts = text.split(".");
      var whole = (parts[0] || "0").replace(/^0+(?=\d)/, "");
      var fraction = (parts[1] || "").replace(/0+$/, "");
      if (decimals && fraction) fraction = (fraction + "00").slice(0, decimals);
      var it = config.lang === "it";
      whole = whole.replace(/\B(?=(\d{3})+(?!\d))/g, it ? "." : ",");
      return sign + whole + (fraction ? (it ? "," : ".") + fraction : "");
    }
    function formatAmount(lexical, unit) {
      var it = config.lang === "it";
      var number = formatNumber(lexical, unit === "euro" ? 2 : 0);
      if (number === null) return null;
      if (unit === "euro") return it ? number + "\u00a0\u20ac" : "\u20ac" + number;
      if (unit === "percent") return it ? number + "\u00a0%" : number + "%";
      return number;
    }
    // 2017-05-03 -> "3 maggio 2017" / "3 May 2017"; a time of day is added after a comma.
    function formatDate(lexical, name) {
      var m = /^(-?\d{4,})-(\d{2})(?:-(\d{2}))?(?:T(\d{2}):(\d{2}))?/.exec(lexical);
      if (!m) return null;
      var month = config.months[parseInt(m[2], 10) - 1];
      if (!month) return null;
      if (name === "gYearMonth") return month + " " + m[1];
      var text = parseInt(m[3], 10) + " " + month + " " + m[1];
      return name === "dateTime" && m[4] ? text + ", " + m[4] + ":" + m[5] : text;
    }
    function literalHtml(binding) {
      var value = binding.value;
      var name = datatypeName(binding);
      var unit = cellUnits.get(binding);
      var text = null;
      if (isNumber(binding)) text = formatAmount(value, unit);
      if (text !== null) return '<data value="' + escapeHtml(value) + '">' + escapeHtml(text) + "</data>";
      if (name === "date" || name === "dateTime" || name === "gYearMonth") {
        text = formatDate(value, name);
        if (text !== null) {
          return '<time datetime="' + escapeHtml(value) + '">' + escapeHtml(text) + "</time>";
        }
      }
      if (name === "boolean" && (value === "true" || value === "false" || value === "1" || value === "0")) {
        return escapeHtml(value === "true" || value === "1" ? config.labels.yes : config.labels.no);
      }
      var lang = binding["xml:lang"];
      return lang ? '<span lang="' + escapeHtml(lang) + '">' + escapeHtml(value) + "</span>"
        : escapeHtml(value);
    }
    function prefixedName(iri) {
      var best = null;
      Object.keys(config.prefixes).forEach(function (p) {
        var ns = config.prefixes[p];
        if (iri.indexOf(ns) === 0 && (!best || ns.length > config.prefixes[best].length)) best = p;
      });
      if (!best) return null;
      var local = iri.slice(config.prefixes[best].length);
      return /^[\w.-]*$/.test(local) ? best + ":" + local : null;
    }
    // An IRI by its label (else its prefixed name), linked to its page on this host when ours.
    function iriHtml(iri) {
      var local = iri.indexOf(base) === 0;
      var href = local ? config.root + iri.slice(base.length) : iri;
      var text = iriLabels[iri] || prefixedName(iri) || iri;
      return '<a class="iri' + (local ? " qp-local-iri" : "") + '" href="' + escapeHtml(href) +
        '" title="' + escapeHtml(iri) + '" target="_blank" rel="noopener">' + escapeHtml(text) + "</a>";
    }
    function readableCell(binding) {
      if (binding.type === "uri") return iriHtml(binding.value);
      if (binding.type === "bnode") return escapeHtml("_:" + binding.value);
      return literalHtml(binding);
    }

    // The unit of each number: the row's one unit (an IRI or its name) when the row has one
    // number, or the column's name (…percent…, …euro…).
    var unitByIri = {}, unitByName = {};
    Object.keys(config.units).forEach(function (unit) {
      config.units[unit].iris.forEach(function (iri) { unitByIri[iri] = unit; });
      config.units[unit].names.forEach(function (name) { unitByName[fold(name)] = unit; });
    });
    function unitOf(binding) {
      if (!binding) return null;
      if (binding.type === "uri") return unitByIri[binding.value] || null;
      return unitByName[fold(binding.value).trim()] || null;
    }
    function columnUnit(name) {
      if (/percen|pct/i.test(name)) return "percent";
      if (/euro|importo|amount/i.test(name)) return "euro";
      return null;
    }
    function annotateUnits(results) {
      var vars = (results && results.getVariables && results.getVariables()) || [];
      var rows = (results && results.getBindings && results.getBindings()) || [];
      rows.forEach(function (row) {
        var numbers = vars.filter(function (v) { return isNumber(row[v]); });
        var units = vars.map(function (v) { return unitOf(row[v]); }).filter(Boolean);
        numbers.forEach(function (v) {
          var unit = columnUnit(v) || (numbers.length === 1 && units.length === 1 ? units[0] : null);
          if (unit) cellUnits.set(row[v], unit);
        });
      });
    }

    // Yasr's table writes cells through getCellContent: read them unless raw values are asked.
    var Table = window.Yasgui.Yasr.plugins && window.Yasgui.Yasr.plugins.table;
    if (Table && !Table.prototype.poliReadable) {
      var rawCell = Table.prototype.getCellContent;
      var rawDraw = Table.prototype.draw;
      Table.prototype.getCellContent = function (binding, prefixes) {
        if (rawToggle && rawToggle.checked) return rawCell.call(this, binding, prefixes);
        return "<div><span" + (binding.type === "uri" ? "" : ' class="nonIri"') + ">" +
          readableCell(binding) + "</span></div>";
      };
      Table.prototype.draw = function () {
        annotateUnits(this.yasr.results);
        return rawDraw.apply(this, arguments);
      };
      Table.prototype.poliReadable = true;
    }

    // The labels of the IRIs of a SELECT result, asked for in one request before it is drawn.
    function fetchLabels(response) {
      var iris = [];
      try {
        var bindings = JSON.parse(response.content).results.bindings;
        var seen = {};
        bindings.forEach(function (row) {
          Object.keys(row).forEach(function (v) {
            var b = row[v];
            if (b.type === "uri" && !seen[b.value] && !(b.value in iriLabels)) {
              seen[b.value] = true;
              iris.push(b.value);
            }
          });
        });
      } catch (e) {
        return Promise.resolve();
      }
      if (!iris.length) return Promise.resolve();
      return fetch(config.labels_url, {
        method: "POST",
        headers: { "Content-Type": "application/json", Accept: "application/json" },
        body: JSON.stringify({ iris: iris.slice(0, config.max_label_iris), lang: config.lang })
      }).then(function (r) { return r.ok ? r.json() : { labels: {} }; })
        .then(function (answer) {
          Object.keys(answer.labels || {}).forEach(function (iri) { iriLabels[iri] = answer.labels[iri]; });
        })
        .catch(function () { /* the IRIs stay shown by their prefixed names */ });
    }

    if (rawToggle) {
      document.getElementById("qp-raw-switch").hidden = false;
      rawToggle.addEventListener("change", function () { if (yasr && yasr.results) yasr.draw(); });
    }

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
    // Yasr's page-size select has a text beside it but no label: that text becomes its name.
    function nameControls(root) {
      var sizers = root.querySelectorAll("select.tableSizer:not([aria-label])");
      for (var i = 0; i < sizers.length; i++) {
        var text = sizers[i].parentNode.querySelector(".pageSizerLabel");
        var name = text ? text.textContent.replace(/[:\s]+$/, "") : "";
        if (name) sizers[i].setAttribute("aria-label", name);
      }
    }
    new MutationObserver(function () {
      localiseLinks(resultsEl);
      nameControls(resultsEl);
    }).observe(resultsEl, { childList: true, subtree: true });

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
    var responses = 0;  // a response drawn late (its labels took long) never hides a newer one
    yasqe.on("queryResponse", function (_instance, response, duration) {
      var failed = response instanceof Error || (response && response.ok === false);
      var labelled = failed ? Promise.resolve() : fetchLabels(response);
      var number = ++responses;
      labelled.then(function () {
        if (number !== responses) return;
        showTruncation(response);
        getYasr().setResponse(response, duration);
        resultsEl.removeAttribute("aria-busy");
        if (failed) setStatus(config.labels.failed, "error");
        else setStatus(config.labels.done.replace("{ms}", String(duration)), "ok");
      });
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

    return {
      run: run,
      setValue: function (text) { yasqe.setValue(text); }
    };
  }
})();
