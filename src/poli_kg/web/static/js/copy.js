/* poli-kg "Copy the IRI": every <button data-copy="ID" hidden> is shown and copies the text of
 * the element with that id, saying so in the polite live region that follows it
 * (data-copied; data-failed when the browser refuses the clipboard, after selecting the
 * text so that it can be copied by hand).  Without this script the buttons stay hidden and
 * the IRI is plain selectable text.
 */
(function () {
  "use strict";

  function select(element) {
    var range = document.createRange();
    range.selectNodeContents(element);
    var selection = window.getSelection();
    selection.removeAllRanges();
    selection.addRange(range);
  }

  function enhance(button) {
    var source = document.getElementById(button.getAttribute("data-copy"));
    var status = button.nextElementSibling;
    if (!source) return;
    function say(text) {
      if (!status) return;
      status.textContent = "";
      window.setTimeout(function () { status.textContent = text; }, 50);
    }
    button.addEventListener("click", function () {
      var text = source.textContent.trim();
      var copied = navigator.clipboard && window.isSecureContext
        ? navigator.clipboard.writeText(text) : Promise.reject(new Error("no clipboard"));
      copied.then(function () { say(button.getAttribute("data-copied")); })
        .catch(function () { select(source); say(button.getAttribute("data-failed")); });
    });
    button.hidden = false;
  }

  var buttons = document.querySelectorAll("button[data-copy]");
  for (var i = 0; i < buttons.length; i++) enhance(buttons[i]);
})();
