// Storedesk desk: keyboard navigation of the inbox, the composer's typing signal and
// once-only submits. No inline handlers (CSP); everything hangs off data- attributes.
(function () {
  "use strict";

  const page = document.querySelector("[data-desk-page]");
  if (!page) return;
  const help = document.getElementById("kbd-help");

  function isTyping(event) {
    const target = event.target;
    return target.isContentEditable || ["INPUT", "TEXTAREA", "SELECT"].includes(target.tagName);
  }

  function toggleHelp(force) {
    if (!help) return;
    help.hidden = force === undefined ? !help.hidden : !force;
  }

  document.addEventListener("click", (event) => {
    const trigger = event.target.closest("[data-action=help]");
    if (trigger) {
      event.preventDefault();
      toggleHelp();
    }
  });

  // --- inbox -----------------------------------------------------------------------------
  function rows() {
    return Array.from(document.querySelectorAll("tr.ticket-row"));
  }

  function current() {
    return document.querySelector("tr.ticket-row.is-current");
  }

  function move(step) {
    const all = rows();
    if (!all.length) return;
    const index = all.indexOf(current());
    const next = all[Math.min(Math.max(index + step, 0), all.length - 1)];
    all.forEach((row) => row.classList.remove("is-current"));
    next.classList.add("is-current");
    next.scrollIntoView({ block: "nearest" });
    next.querySelector("a.subject")?.focus({ preventScroll: true });
  }

  function updateSelectedCount() {
    const label = document.querySelector("[data-selected-count]");
    if (!label) return;
    const count = document.querySelectorAll("tr.ticket-row input[name=tickets]:checked").length;
    label.textContent = count ? `${count} ✓` : label.dataset.empty || label.textContent;
  }

  function bulk(action, field, value) {
    const form = document.getElementById("ticket-list");
    if (!form) return;
    const checked = form.querySelectorAll("input[name=tickets]:checked");
    if (!checked.length) {
      const row = current();
      if (!row) return;
      row.querySelector("input[name=tickets]").checked = true;
    }
    form.elements[field].value = value;
    form.requestSubmit(form.querySelector(`button[name=action][value=${action}]`));
  }

  function inboxKeys(event) {
    switch (event.key) {
      case "j": move(1); break;
      case "k": move(-1); break;
      case "o":
      case "Enter": {
        const row = current();
        if (!row) return false;
        window.location.assign(row.dataset.url);
        break;
      }
      case "x": {
        const box = current()?.querySelector("input[name=tickets]");
        if (!box) return false;
        box.checked = !box.checked;
        updateSelectedCount();
        break;
      }
      case "e": bulk("status", "status", "solved"); break;
      case "a": bulk("assign", "assignee", "me"); break;
      default: return false;
    }
    return true;
  }

  // --- ticket ------------------------------------------------------------------------------
  function ticketKeys(event) {
    switch (event.key) {
      case "r": document.querySelector("[data-composer-text]")?.focus(); break;
      case "u": window.location.assign(document.querySelector("[data-back]").href); break;
      default: return false;
    }
    return true;
  }

  document.addEventListener("keydown", (event) => {
    if (event.key === "Escape") {
      toggleHelp(false);
      if (isTyping(event)) event.target.blur();
      return;
    }
    if (isTyping(event) || event.ctrlKey || event.metaKey || event.altKey) return;
    if (event.key === "?") { toggleHelp(); event.preventDefault(); return; }
    if (event.key === "/") {
      const search = document.querySelector("[data-search]") || document.getElementById("top-search");
      if (search) { search.focus(); search.select(); event.preventDefault(); }
      return;
    }
    const kind = page.dataset.deskPage;
    const handled = kind === "inbox" ? inboxKeys(event) : ticketKeys(event);
    if (handled) event.preventDefault();
  });

  document.addEventListener("change", (event) => {
    if (event.target.matches("tr.ticket-row input[name=tickets]")) updateSelectedCount();
  });
  const countLabel = document.querySelector("[data-selected-count]");
  if (countLabel) countLabel.dataset.empty = countLabel.textContent;

  // Clicking a row (not its links or checkbox) makes it current, like j/k.
  document.addEventListener("click", (event) => {
    const row = event.target.closest("tr.ticket-row");
    if (!row || event.target.closest("a, input, button")) return;
    rows().forEach((other) => other.classList.remove("is-current"));
    row.classList.add("is-current");
  });

  // The composer tells the others we are typing: the presence heartbeat sends this flag.
  // Delegated: a template choice swaps the text area for a new one.
  const typing = document.getElementById("presence-typing");
  let typingTimer = null;
  document.addEventListener("input", (event) => {
    if (!typing || !event.target.matches("[data-composer-text]")) return;
    typing.value = "1";
    clearTimeout(typingTimer);
    typingTimer = setTimeout(() => { typing.value = "0"; }, 5000);
  });

  // A form marked data-once is submitted once: a second click while sending does nothing (the
  // server's idempotency key is the real guarantee).
  document.querySelectorAll("form[data-once]").forEach((form) => {
    form.addEventListener("submit", (event) => {
      if (form.dataset.sending) { event.preventDefault(); return; }
      form.dataset.sending = "1";
      form.classList.add("is-sending");
    });
  });

  // The conversation follows new messages live: the ticket's event stream (server-sent
  // events, resumed by the browser) says a message arrived; its <li> comes from the server,
  // rendered and sanitized like the rest of the page, and is appended once.
  const conversation = document.querySelector("ol.conversation[data-live-url]");
  if (conversation && window.EventSource) {
    let last = Number(conversation.dataset.lastMessage || 0);
    let loading = false;
    let again = false;
    const load = () => {
      if (loading) { again = true; return; }
      loading = true;
      fetch(`${conversation.dataset.liveMessages}?after=${last}`, {
        credentials: "same-origin",
        headers: { "HX-Request": "true" },
      })
        .then((response) => (response.ok ? response.text() : ""))
        .then((html) => {
          const incoming = document.createElement("template");
          incoming.innerHTML = html;
          incoming.content.querySelectorAll("li.msg[id^='message-']").forEach((item) => {
            last = Math.max(last, Number(item.id.slice("message-".length)));
            if (document.getElementById(item.id)) return;
            conversation.querySelector("[data-empty-timeline]")?.remove();
            item.classList.add("is-new");
            conversation.append(item);
            if (window.htmx) window.htmx.process(item);
          });
        })
        .catch(() => {})
        .finally(() => {
          loading = false;
          if (again) { again = false; load(); }
        });
    };
    const stream = new EventSource(`${conversation.dataset.liveUrl}?after=${last}`);
    stream.addEventListener("message", (event) => {
      const data = JSON.parse(event.data);
      if (data.id > last && !document.getElementById(`message-${data.id}`)) load();
    });
  }

  // A note is visibly a note while it is being written.
  const noteToggle = document.querySelector("[data-note-toggle]");
  const composer = document.getElementById("composer");
  if (noteToggle && composer) {
    const sync = () => composer.classList.toggle("is-note", noteToggle.checked);
    noteToggle.addEventListener("change", sync);
    sync();
  }
})();
