// Campaign Posts: the little the pages need beyond htmx (static file: the CSP allows no inline script).
// Every page works without it; it adds the live character counter, error toasts, keeps the
// posts grid from refreshing under someone who is editing, and pauses live panels in hidden tabs.
(function () {
  "use strict";

  // ---- Character counter: caption + "\n\n" + hashtags, as shared.platforms.full_text builds it.
  function hashtagList(text) {
    return text.split(/[\s,]+/).filter(Boolean).map(function (tag) {
      return tag.charAt(0) === "#" ? tag : "#" + tag;
    });
  }

  function updateCounter(form) {
    var counter = form.querySelector("[data-counter]");
    var caption = form.querySelector("[name=caption]");
    if (!counter || !caption) return;
    var tagsInput = form.querySelector("[name=hashtags]");
    var tags = tagsInput ? hashtagList(tagsInput.value) : [];
    var text = caption.value.trim() + (tags.length ? "\n\n" + tags.join(" ") : "");
    var length = Array.from(text).length; // code points, like Python's len()
    var limit = parseInt(counter.getAttribute("data-limit"), 10);
    counter.querySelector("[data-counter-value]").textContent = length.toLocaleString();
    counter.classList.toggle("is-over", length > limit);
  }

  function updateAllCounters(root) {
    (root || document).querySelectorAll("form [data-counter]").forEach(function (counter) {
      updateCounter(counter.closest("form"));
    });
  }

  document.addEventListener("input", function (event) {
    var form = event.target.closest && event.target.closest("form");
    if (form && form.querySelector("[data-counter]")) updateCounter(form);
  });
  document.addEventListener("DOMContentLoaded", function () { updateAllCounters(document); });
  document.addEventListener("htmx:load", function (event) { updateAllCounters(event.detail.elt); });

  // ---- The sign-in form tells the server the browser's time zone (used the first time only).
  document.addEventListener("DOMContentLoaded", function () {
    var zone = "";
    try { zone = Intl.DateTimeFormat().resolvedOptions().timeZone || ""; } catch (error) { zone = ""; }
    document.querySelectorAll("input[data-browser-time-zone]").forEach(function (input) { input.value = zone; });
  });

  // ---- Failed requests: htmx swaps nothing on 4xx/5xx, so say something.
  var toastTimer = null;
  function toast(text) {
    var box = document.getElementById("toast");
    if (!box) return;
    box.textContent = text;
    box.hidden = false;
    clearTimeout(toastTimer);
    toastTimer = setTimeout(function () { box.hidden = true; }, 6000);
  }
  document.addEventListener("htmx:responseError", function (event) {
    var status = event.detail.xhr.status;
    toast(status === 404 ? "That item no longer exists. Reload the page to see the latest."
      : status === 403 ? "Your session has expired. Reload the page and sign in again."
      : "Something went wrong (" + status + "). Please try again.");
  });
  document.addEventListener("htmx:sendError", function () {
    toast("The server cannot be reached. Check your connection and try again.");
  });

  // ---- The posts grid refreshes itself while a batch runs; not under someone's hands.
  function userIsBusyInGrid() {
    return Boolean(document.querySelector(
      "#post-results .post-card.is-editing, #post-results details[open], #post-results [data-loaded-more], " +
      "#post-results .bulk-check:checked, #post-results [name=all_matching]:checked"
    ));
  }
  document.addEventListener("htmx:confirm", function (event) {
    var element = event.detail.elt;
    if (!element.hasAttribute("data-grid-refresher") || !userIsBusyInGrid()) return;
    event.preventDefault(); // skip this refresh, and offer it instead
    var offer = document.getElementById("grid-refresh-offer");
    if (offer) offer.hidden = false;
  });

  // ---- Live panels ([data-pause-when-hidden], polled with hx-trigger="every Ns, poll-now") ask
  // nothing while the tab is hidden: a poll that comes due then is skipped and the panel marked,
  // and showing the tab again asks every marked panel at once.
  document.addEventListener("htmx:confirm", function (event) {
    var element = event.detail.elt;
    if (!document.hidden || !element.hasAttribute("data-pause-when-hidden")) return;
    event.preventDefault();
    element.setAttribute("data-poll-paused", "");
  });
  document.addEventListener("visibilitychange", function () {
    if (document.hidden) return;
    document.querySelectorAll("[data-poll-paused]").forEach(function (element) {
      element.removeAttribute("data-poll-paused");
      htmx.trigger(element, "poll-now");
    });
  });

  // ---- A plain form (no htmx) that undoes something asks first: data-confirm on the form or on the
  // button pressed holds the question (htmx's hx-confirm only guards htmx requests).
  document.addEventListener("submit", function (event) {
    var form = event.target;
    var button = event.submitter;
    var question = (button && button.getAttribute("data-confirm")) || form.getAttribute("data-confirm");
    if (question && !window.confirm(question)) event.preventDefault();
  });

  // ---- A select marked data-submit-on-change (the workspace switcher) submits its form when changed.
  document.addEventListener("change", function (event) {
    var element = event.target;
    if (element.matches && element.matches("select[data-submit-on-change]") && element.form) element.form.requestSubmit();
  });

  // ---- Back and Forward: htmx restores a page from a snapshot of its HTML taken as the next
  // request left it, when the filter just changed already showed the new value. So after a restore,
  // a filter form ([data-filters-from-url]) takes its values from the restored address, which is
  // what the restored grid shows.
  document.addEventListener("htmx:historyRestore", function () {
    var query = new URLSearchParams(window.location.search);
    document.querySelectorAll("form[data-filters-from-url]").forEach(function (form) {
      Array.prototype.forEach.call(form.elements, function (field) {
        if (!field.name || field.type === "hidden" || field.type === "submit") return;
        var value = query.get(field.name) || "";
        if (field.tagName === "SELECT") {
          var known = Array.prototype.some.call(field.options, function (option) { return option.value === value; });
          field.value = known ? value : (field.options.length ? field.options[0].value : "");
        } else if (field.type === "checkbox" || field.type === "radio") {
          field.checked = query.getAll(field.name).indexOf(field.value) !== -1;
        } else {
          field.value = value;
        }
      });
    });
  });

  // ---- Calendar: drag a post ([data-reschedule-url]) onto a day ([data-drop-date]) to move it there,
  // at the same time of day. The server answers with the whole calendar again (#calendar).
  var dragged = null;
  function closestElement(node, selector) {
    var element = node && node.nodeType === 1 ? node : node && node.parentElement;
    return element ? element.closest(selector) : null;
  }
  document.addEventListener("dragstart", function (event) {
    dragged = closestElement(event.target, "[data-reschedule-url]");
    if (!dragged) return;
    event.dataTransfer.effectAllowed = "move";
    event.dataTransfer.setData("text/plain", dragged.getAttribute("data-post-id"));
    dragged.classList.add("is-dragging");
  });
  document.addEventListener("dragend", function () {
    if (dragged) dragged.classList.remove("is-dragging");
    dragged = null;
    document.querySelectorAll(".is-drop-target").forEach(function (cell) { cell.classList.remove("is-drop-target"); });
  });
  document.addEventListener("dragover", function (event) {
    var cell = closestElement(event.target, "[data-drop-date]");
    if (!cell || !dragged) return;
    event.preventDefault(); // allows the drop
    event.dataTransfer.dropEffect = "move";
    document.querySelectorAll(".is-drop-target").forEach(function (other) {
      if (other !== cell) other.classList.remove("is-drop-target");
    });
    cell.classList.add("is-drop-target");
  });
  document.addEventListener("drop", function (event) {
    var cell = closestElement(event.target, "[data-drop-date]");
    var calendar = document.getElementById("calendar");
    if (!cell || !dragged || !calendar) return;
    event.preventDefault();
    htmx.ajax("POST", dragged.getAttribute("data-reschedule-url"), {
      source: cell,
      target: "#calendar",
      swap: "outerHTML",
      values: { date: cell.getAttribute("data-drop-date"), month: calendar.getAttribute("data-month"), view: "month" }
    });
  });

  // ---- Close an open <details> menu when clicking elsewhere or pressing Escape.
  document.addEventListener("click", function (event) {
    document.querySelectorAll("details.menu[open]").forEach(function (menu) {
      if (!menu.contains(event.target)) menu.open = false;
    });
  });
  document.addEventListener("keydown", function (event) {
    if (event.key !== "Escape") return;
    document.querySelectorAll("details.menu[open]").forEach(function (menu) {
      menu.open = false;
      var summary = menu.querySelector("summary");
      if (summary) summary.focus();
    });
  });
})();
