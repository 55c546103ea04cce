/* Storedesk chat widget: one script tag on the store's site.
 *
 *   <script src="https://desk.example/help/widget.js" data-store="my-store" async></script>
 *
 * No cookies: the visitor's chat token lives in this tab's sessionStorage and travels in the
 * X-Chat-Token header. Replies arrive as server-sent events read through fetch (so the token
 * stays out of URLs), with one-and-a-half-second polling as the fallback. Every message is
 * shown with textContent: nothing a visitor or agent types is ever parsed as HTML.
 *
 * Before the first message, the help center's articles matching what the visitor types are
 * listed under the box (titles set with textContent). A random help-session token for this tab
 * goes with those requests and with the first message, so the desk can tell visitors who found
 * their answer from those who wrote to us anyway.
 */
(function () {
  "use strict";
  var script = document.currentScript;
  if (!script || window.__storedeskChat) { return; }
  window.__storedeskChat = true;

  var base = new URL(script.src, window.location.href).origin;
  var store = script.getAttribute("data-store") || "";
  var storageKey = "storedesk-chat:" + base + ":" + store;
  var state = { token: null, last: 0, online: false, email: "", streaming: false, seen: {} };
  var ui = {};
  var helpKey = "storedesk-help:" + base;
  var suggestTimer = null, lastAsked = "";

  function load() {
    try { return JSON.parse(window.sessionStorage.getItem(storageKey) || "null"); } catch (e) { return null; }
  }
  function save() {
    try {
      window.sessionStorage.setItem(storageKey, JSON.stringify({ token: state.token, email: state.email }));
    } catch (e) { /* private mode: the chat lasts as long as the page */ }
  }
  function forget() {
    state.token = null; state.last = 0; state.seen = {};
    try { window.sessionStorage.removeItem(storageKey); } catch (e) { /* ignore */ }
  }

  function helpSession() {
    var value = null;
    try { value = window.sessionStorage.getItem(helpKey); } catch (e) { /* private mode */ }
    if (!value || !/^[A-Za-z0-9_-]{16,64}$/.test(value)) {
      var bytes = new Uint8Array(18);
      window.crypto.getRandomValues(bytes);
      value = Array.prototype.map.call(bytes, function (b) { return ("0" + b.toString(16)).slice(-2); }).join("");
      try { window.sessionStorage.setItem(helpKey, value); } catch (e) { /* this page only */ }
    }
    return value;
  }

  function showSuggestions(data) {
    ui.suggest.textContent = "";
    var items = (data && data.articles) || [];
    if (!items.length || state.token) { ui.suggest.hidden = true; return; }
    ui.suggest.appendChild(el("p", { "class": "sdchat-suggest-title" }, "These articles may help:"));
    var list = el("ul", {});
    items.forEach(function (item) {
      var li = el("li", {});
      li.appendChild(el("a", { href: item.url, target: "_blank", rel: "noopener" }, item.title));
      list.appendChild(li);
    });
    ui.suggest.appendChild(list);
    ui.suggest.hidden = false;
  }

  function askSuggestions() {
    var text = ui.text.value.trim().slice(0, 200);
    if (state.token || text.length < 4 || text === lastAsked) { return; }
    lastAsked = text;
    window.fetch(base + "/help/suggest?q=" + encodeURIComponent(text) + "&session=" +
      encodeURIComponent(helpSession()) + "&channel=chat" + (store ? "&store=" + encodeURIComponent(store) : ""),
      { credentials: "omit", mode: "cors" })
      .then(function (response) { return response.ok ? response.json() : null; })
      .then(showSuggestions)
      .catch(function () { /* suggestions never get in the way of the chat */ });
  }

  function api(method, path, body) {
    var headers = { "Content-Type": "application/json" };
    if (state.token) { headers["X-Chat-Token"] = state.token; }
    return window.fetch(base + "/help/chat/" + path, {
      method: method, headers: headers, credentials: "omit", mode: "cors",
      body: body ? JSON.stringify(body) : undefined
    }).then(function (response) {
      return response.json().catch(function () { return {}; }).then(function (data) {
        if (!response.ok) {
          var error = new Error(data.message || "Something went wrong. Please try again.");
          error.status = response.status;
          throw error;
        }
        return data;
      });
    });
  }

  function el(tag, attrs, text) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (name) { node.setAttribute(name, attrs[name]); });
    if (text) { node.textContent = text; }
    return node;
  }

  function build(stylesheet) {
    var link = el("link", { rel: "stylesheet", href: stylesheet });
    document.head.appendChild(link);
    var root = el("div", { "class": "sdchat", hidden: "" });
    link.addEventListener("load", function () { root.removeAttribute("hidden"); });
    link.addEventListener("error", function () { root.removeAttribute("hidden"); });

    ui.launcher = el("button", { type: "button", "class": "sdchat-launcher", "aria-expanded": "false", "aria-controls": "sdchat-panel" }, "Chat with us");
    ui.panel = el("section", { id: "sdchat-panel", "class": "sdchat-panel", role: "dialog", "aria-label": "Chat with us", hidden: "" });
    var header = el("header", { "class": "sdchat-header" });
    ui.title = el("h2", { "class": "sdchat-title" }, "Chat with us");
    ui.status = el("p", { "class": "sdchat-status" });
    var close = el("button", { type: "button", "class": "sdchat-close", "aria-label": "Close chat" }, "×");
    header.appendChild(ui.title); header.appendChild(close); header.appendChild(ui.status);

    ui.log = el("ol", { "class": "sdchat-log", role: "log", "aria-live": "polite", "aria-label": "Conversation" });
    ui.error = el("p", { "class": "sdchat-error", role: "alert", hidden: "" });

    ui.emailForm = el("form", { "class": "sdchat-email", hidden: "" });
    ui.emailForm.appendChild(el("label", { "for": "sdchat-email" }, "Your email address"));
    ui.emailInput = el("input", { id: "sdchat-email", type: "email", autocomplete: "email", required: "" });
    ui.emailForm.appendChild(ui.emailInput);
    ui.emailForm.appendChild(el("button", { type: "submit" }, "Save"));

    ui.form = el("form", { "class": "sdchat-form" });
    ui.nameWrap = el("div", { "class": "sdchat-name" });
    ui.nameWrap.appendChild(el("label", { "for": "sdchat-name" }, "Your name (optional)"));
    ui.nameInput = el("input", { id: "sdchat-name", type: "text", autocomplete: "name", maxlength: "200" });
    ui.nameWrap.appendChild(ui.nameInput);
    ui.startEmailWrap = el("div", { "class": "sdchat-name" });
    ui.startEmailLabel = el("label", { "for": "sdchat-start-email" }, "Your email (optional)");
    ui.startEmailWrap.appendChild(ui.startEmailLabel);
    ui.startEmail = el("input", { id: "sdchat-start-email", type: "email", autocomplete: "email", maxlength: "254" });
    ui.startEmailWrap.appendChild(ui.startEmail);
    ui.form.appendChild(ui.nameWrap);
    ui.form.appendChild(ui.startEmailWrap);
    ui.form.appendChild(el("label", { "for": "sdchat-text", "class": "sdchat-hidden-label" }, "Message"));
    ui.text = el("textarea", { id: "sdchat-text", rows: "2", maxlength: "5000", placeholder: "Type your message…" });
    ui.form.appendChild(ui.text);
    ui.suggest = el("div", { "class": "sdchat-suggest", "aria-live": "polite", hidden: "" });
    ui.form.appendChild(ui.suggest);
    ui.send = el("button", { type: "submit", "class": "sdchat-send" }, "Send");
    ui.form.appendChild(ui.send);

    [header, ui.log, ui.error, ui.emailForm, ui.form].forEach(function (node) { ui.panel.appendChild(node); });
    root.appendChild(ui.panel); root.appendChild(ui.launcher);
    document.body.appendChild(root);

    ui.launcher.addEventListener("click", function () { toggle(ui.panel.hidden); });
    close.addEventListener("click", function () { toggle(false); });
    ui.panel.addEventListener("keydown", function (event) { if (event.key === "Escape") { toggle(false); } });
    ui.form.addEventListener("submit", onSend);
    ui.text.addEventListener("keydown", function (event) {
      if (event.key === "Enter" && !event.shiftKey) { event.preventDefault(); onSend(event); }
    });
    ui.emailForm.addEventListener("submit", onEmail);
    ui.text.addEventListener("input", function () {
      window.clearTimeout(suggestTimer);
      suggestTimer = window.setTimeout(askSuggestions, 400);
    });
  }

  function toggle(open) {
    ui.panel.hidden = !open;
    ui.launcher.setAttribute("aria-expanded", open ? "true" : "false");
    if (open) { ui.text.focus(); } else { ui.launcher.focus(); }
  }

  function showError(message) {
    ui.error.textContent = message || "";
    ui.error.hidden = !message;
  }

  function render() {
    var started = Boolean(state.token);
    ui.nameWrap.hidden = started;
    ui.startEmailWrap.hidden = started;
    var needsEmail = !state.online && !state.email;
    ui.startEmail.required = needsEmail && !started;
    ui.startEmailLabel.textContent = needsEmail ? "Your email, so we can reply" : "Your email (optional)";
    ui.emailForm.hidden = !(started && needsEmail);
    ui.status.textContent = state.online
      ? "We're online and usually answer within a few minutes."
      : (state.email
        ? "We're away right now. We'll reply to " + state.email + "."
        : "We're away right now. Leave your email and we'll reply there.");
  }

  function addLine(line) {
    if (state.seen[line.id]) { return; }
    state.seen[line.id] = true;
    state.last = Math.max(state.last, line.id);
    var item = el("li", { "class": line.from_visitor ? "sdchat-line sdchat-visitor" : "sdchat-line sdchat-agent", "data-id": String(line.id) });
    item.appendChild(el("span", { "class": "sdchat-author" }, line.from_visitor ? "You" : (line.author || "Customer care")));
    item.appendChild(el("p", { "class": "sdchat-text" }, line.text));
    ui.log.appendChild(item);
    ui.log.scrollTop = ui.log.scrollHeight;
  }

  function onSend(event) {
    event.preventDefault();
    var text = ui.text.value.trim();
    if (!text) { return; }
    showError("");
    ui.send.disabled = true;
    var request = state.token
      ? api("POST", "send", { text: text })
      : api("POST", "start", {
        text: text, name: ui.nameInput.value.trim(), email: ui.startEmail.value.trim(),
        page_url: window.location.href, store: store, help_session: helpSession()
      }).then(function (data) {
        ui.suggest.hidden = true;
        state.token = data.token; state.online = data.agents_online;
        state.email = ui.startEmail.value.trim();
        save();
        (data.messages || []).forEach(addLine);
        listen();
        return data;
      });
    request.then(function (data) {
      ui.text.value = "";
      if (data && data.agents_online !== undefined) { state.online = data.agents_online; }
      render();
      if (!state.streaming) { poll(); }
    }).catch(function (error) {
      if (error.status === 401) { forget(); render(); }
      showError(error.message);
    }).then(function () { ui.send.disabled = false; ui.text.focus(); });
  }

  function onEmail(event) {
    event.preventDefault();
    showError("");
    api("POST", "email", { email: ui.emailInput.value.trim(), name: ui.nameInput.value.trim() })
      .then(function (data) { state.email = data.email; save(); render(); })
      .catch(function (error) { showError(error.message); });
  }

  function poll() {
    if (!state.token) { return Promise.resolve(); }
    return api("GET", "messages?after=" + state.last).then(function (data) {
      (data.messages || []).forEach(addLine);
      if (data.agents_online !== state.online) { state.online = data.agents_online; render(); }
    }).catch(function (error) {
      if (error.status === 401) { forget(); render(); }
    });
  }

  function parseEvents(buffer, onEvent) {
    var blocks = buffer.split("\n\n");
    var rest = blocks.pop();
    blocks.forEach(function (block) {
      var name = "message"; var data = "";
      block.split("\n").forEach(function (line) {
        if (line.indexOf("event:") === 0) { name = line.slice(6).trim(); }
        if (line.indexOf("data:") === 0) { data += line.slice(5).trim(); }
      });
      if (data && name === "message") { try { onEvent(JSON.parse(data)); } catch (e) { /* skip */ } }
    });
    return rest;
  }

  /* Read the event stream with fetch; when it ends, reconnect from the last id. Browsers
     that cannot stream a response body fall back to polling. */
  function listen() {
    if (!state.token || state.listening) { return; }
    state.listening = true;
    var canStream = window.ReadableStream && window.TextDecoder;
    function again(delay) {
      window.setTimeout(function () { state.listening = false; listen(); }, delay);
    }
    if (!canStream) {
      poll().then(function () { again(1500); });
      return;
    }
    window.fetch(base + "/help/chat/events?after=" + state.last, {
      headers: { "X-Chat-Token": state.token }, credentials: "omit", mode: "cors", cache: "no-store"
    }).then(function (response) {
      if (response.status === 401) { forget(); render(); state.listening = false; return; }
      if (!response.ok || !response.body) { poll().then(function () { again(1500); }); return; }
      state.streaming = true;
      var reader = response.body.getReader();
      var decoder = new TextDecoder();
      var buffer = "";
      function pump() {
        return reader.read().then(function (chunk) {
          if (chunk.done) { state.streaming = false; again(200); return; }
          buffer = parseEvents(buffer + decoder.decode(chunk.value, { stream: true }), addLine);
          return pump();
        });
      }
      return pump();
    }).catch(function () { state.streaming = false; again(1500); });
  }

  function start() {
    api("GET", "status").then(function (data) {
      state.online = Boolean(data.agents_online);
      build(data.stylesheet);
      var saved = load();
      if (saved && saved.token) {
        state.token = saved.token; state.email = saved.email || "";
        poll().then(listen);
      }
      render();
    }).catch(function () { /* the desk is unreachable or this site is not allowed: no widget */ });
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
}());
