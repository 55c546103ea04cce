// The rule editor: filter the attribute reference, insert a name at the cursor, and jump to
// the column a parse error points at. No inline script: the page's CSP forbids it.
(function () {
  "use strict";

  function source() {
    return document.getElementById("id_source");
  }

  function insertAtCursor(text) {
    const field = source();
    if (!field) return;
    const start = field.selectionStart ?? field.value.length;
    const end = field.selectionEnd ?? field.value.length;
    const before = field.value.slice(0, start);
    const spaced = before && !/\s$/.test(before) ? " " + text : text;
    field.value = before + spaced + field.value.slice(end);
    const caret = start + spaced.length;
    field.focus();
    field.setSelectionRange(caret, caret);
    // htmx listens for "input" to re-check the rule.
    field.dispatchEvent(new Event("input", { bubbles: true }));
  }

  document.addEventListener("click", function (event) {
    const insert = event.target.closest(".rule-insert");
    if (insert) {
      insertAtCursor(insert.dataset.insert);
      return;
    }
    const goto = event.target.closest(".rule-goto-error");
    if (goto && source()) {
      const position = Number(goto.dataset.position) || 0;
      source().focus();
      source().setSelectionRange(position, position + 1);
    }
  });

  document.addEventListener("input", function (event) {
    if (event.target.id !== "attribute-filter") return;
    const words = event.target.value.toLowerCase().trim().split(/\s+/).filter(Boolean);
    document.querySelectorAll(".attributes tr[data-name]").forEach(function (row) {
      const name = row.dataset.name;
      row.hidden = !words.every(function (word) { return name.includes(word); });
    });
  });
})();
