/* Help-center suggestions under a text area (the contact form): as the customer types, the
 * three best-matching articles are listed under the box, so they may find the answer before
 * writing to us. The tab keeps a random help-session token (sessionStorage) that travels with
 * each suggestion request and in the form's hidden `help_session` field, which is how the desk
 * counts visitors who wrote to us after seeing suggestions. Titles are set with textContent.
 */
(function () {
  "use strict";
  var KEY = "storedesk-help-session";

  function token() {
    var value = null;
    try { value = window.sessionStorage.getItem(KEY); } catch (e) { /* private mode */ }
    if (!value || !/^[A-Za-z0-9_-]{16,64}$/.test(value)) {
      var bytes = new Uint8Array(18);
      window.crypto.getRandomValues(bytes);
      value = Array.prototype.map.call(bytes, function (b) { return ("0" + b.toString(16)).slice(-2); }).join("");
      try { window.sessionStorage.setItem(KEY, value); } catch (e) { /* the page's own token */ }
    }
    return value;
  }

  function attach(box) {
    var input = document.getElementById(box.getAttribute("data-help-for"));
    if (!input) { return; }
    var session = token();
    var form = input.form;
    var hidden = form && form.querySelector("input[name='help_session']");
    if (hidden) { hidden.value = session; }
    var timer = null, last = "";

    function show(data) {
      box.textContent = "";
      var items = (data && data.articles) || [];
      if (!items.length) { box.hidden = true; return; }
      var heading = document.createElement("p");
      heading.className = "help-suggestions-title";
      heading.textContent = "These articles may answer your question:";
      var list = document.createElement("ul");
      items.forEach(function (item) {
        var li = document.createElement("li");
        var link = document.createElement("a");
        link.href = item.url;
        link.target = "_blank";
        link.rel = "noopener";
        link.textContent = item.title;
        li.appendChild(link);
        list.appendChild(li);
      });
      box.appendChild(heading);
      box.appendChild(list);
      box.hidden = false;
    }

    function ask() {
      var text = input.value.trim().slice(0, 200);
      if (text.length < 4 || text === last) { return; }
      last = text;
      var url = box.getAttribute("data-help-suggest") + "?q=" + encodeURIComponent(text) +
        "&session=" + encodeURIComponent(session) + "&channel=" + encodeURIComponent(box.getAttribute("data-help-channel") || "form");
      window.fetch(url, { credentials: "omit" })
        .then(function (response) { return response.ok ? response.json() : null; })
        .then(show)
        .catch(function () { /* suggestions are a help, never in the way */ });
    }

    input.addEventListener("input", function () {
      window.clearTimeout(timer);
      timer = window.setTimeout(ask, 400);
    });
  }

  function start() {
    Array.prototype.forEach.call(document.querySelectorAll("[data-help-suggest]"), attach);
  }
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
