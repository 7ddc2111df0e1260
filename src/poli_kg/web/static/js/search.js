/* poli-kg search suggestions: every <input data-suggest="URL"> becomes an ARIA 1.2 combobox
 * that lists, as you type, the first hits of the JSON search endpoint (URL?q=…&format=json).
 * Keyboard: ↓/↑ move through the suggestions, Enter opens the chosen one (or submits the
 * form when none is chosen), Escape closes the list.  A click opens a suggestion too.
 * Without this script the input stays a plain field of a GET form to /search.
 */
(function () {
  "use strict";

  var DELAY_MS = 120;
  var LIMIT = 8;
  var MIN_CHARS = 2;

  function enhance(input) {
    var url = input.getAttribute("data-suggest");
    var lang = input.getAttribute("data-lang") || document.documentElement.lang || "it";
    var list = document.createElement("ul");
    var listId = (input.id || "pk-search") + "-suggestions";
    var timer = null;
    var active = -1;
    var items = [];
    var latest = 0;

    list.id = listId;
    list.className = "pk-suggestions";
    list.setAttribute("role", "listbox");
    list.setAttribute("aria-label", lang === "en" ? "Suggestions" : "Suggerimenti");
    list.hidden = true;
    input.parentNode.appendChild(list);
    input.setAttribute("role", "combobox");
    input.setAttribute("aria-autocomplete", "list");
    input.setAttribute("aria-expanded", "false");
    input.setAttribute("aria-controls", listId);

    function close() {
      list.hidden = true;
      input.setAttribute("aria-expanded", "false");
      input.removeAttribute("aria-activedescendant");
      active = -1;
    }

    function choose(index) {
      var options = list.children;
      for (var i = 0; i < options.length; i++) {
        options[i].setAttribute("aria-selected", i === index ? "true" : "false");
      }
      active = index;
      if (index >= 0) {
        input.setAttribute("aria-activedescendant", options[index].id);
        options[index].scrollIntoView({block: "nearest"});
      } else {
        input.removeAttribute("aria-activedescendant");
      }
    }

    function open(hit) {
      window.location.href = hit.href;
    }

    function show(results) {
      list.textContent = "";
      items = results;
      results.forEach(function (hit, i) {
        var option = document.createElement("li");
        var label = document.createElement("span");
        option.id = listId + "-" + i;
        option.className = "pk-suggestion";
        option.setAttribute("role", "option");
        option.setAttribute("aria-selected", "false");
        label.textContent = hit.label;
        option.appendChild(label);
        if (hit.typeLabel) {
          var type = document.createElement("span");
          type.className = "pk-suggestion__type";
          type.textContent = hit.typeLabel;
          option.appendChild(type);
        }
        option.addEventListener("mousedown", function (event) {
          event.preventDefault();  // keep the focus in the input
          open(hit);
        });
        list.appendChild(option);
      });
      active = -1;
      list.hidden = results.length === 0;
      input.setAttribute("aria-expanded", results.length ? "true" : "false");
    }

    function fetchSuggestions() {
      var text = input.value.trim();
      if (text.length < MIN_CHARS || text.length > 200) { close(); return; }
      var request = ++latest;
      var target = new URL(url, window.location.href);
      target.searchParams.set("q", text);
      target.searchParams.set("format", "json");
      target.searchParams.set("limit", String(LIMIT));
      target.searchParams.set("lang", lang);
      fetch(target.toString(), {headers: {"Accept": "application/json"}})
        .then(function (response) { return response.ok ? response.json() : {results: []}; })
        .then(function (body) {
          if (request !== latest) return;  // an answer to an older text
          show((body.results || []).map(function (r) {
            var local = r.url && r.url.indexOf(window.location.origin + "/") === 0;
            var href = local ? new URL(r.url).pathname : (r.url || r.iri);
            if (local && lang) href += "?lang=" + encodeURIComponent(lang);
            return {label: r.label, typeLabel: r.typeLabel, href: href};
          }));
        })
        .catch(function () { close(); });
    }

    input.addEventListener("input", function () {
      window.clearTimeout(timer);
      timer = window.setTimeout(fetchSuggestions, DELAY_MS);
    });
    input.addEventListener("keydown", function (event) {
      var count = list.hidden ? 0 : list.children.length;
      if (event.key === "ArrowDown" && count) {
        event.preventDefault();
        choose((active + 1) % count);
      } else if (event.key === "ArrowUp" && count) {
        event.preventDefault();
        choose(active <= 0 ? count - 1 : active - 1);
      } else if (event.key === "Enter" && active >= 0 && count) {
        event.preventDefault();
        open(items[active]);
      } else if (event.key === "Escape" && count) {
        event.preventDefault();
        close();
      }
    });
    input.addEventListener("blur", function () { window.setTimeout(close, 100); });
  }

  var inputs = document.querySelectorAll("input[data-suggest]");
  for (var i = 0; i < inputs.length; i++) enhance(inputs[i]);
})();
