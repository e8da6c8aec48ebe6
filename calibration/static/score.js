/* Score page speed-ups (progressive enhancement: every page works without this file).
 * - moves focus to the error summary;
 * - keeps a draft on the server as the assessor works (on change and every 10 seconds);
 * - a live counter for the notes;
 * - the review step in the page (no extra request);
 * - keyboard shortcuts, announced to screen readers.
 * On the feedback page: "n" goes to the next anchor (after the last: the round result, or the round).
 */
(function () {
  "use strict";

  var AUTOSAVE_MS = 10000;
  var CHANGE_DELAY_MS = 1500;

  function $(selector, root) { return (root || document).querySelector(selector); }
  function all(selector, root) { return Array.prototype.slice.call((root || document).querySelectorAll(selector)); }
  function typing(target) {
    var tag = target && target.tagName;
    return tag === "TEXTAREA" || tag === "SELECT" || (tag === "INPUT" && target.type !== "radio" && target.type !== "checkbox") ||
      (target && target.isContentEditable);
  }
  function el(tag, attrs, text) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (k) { node.setAttribute(k, attrs[k]); });
    if (text !== undefined) { node.textContent = text; }
    return node;
  }

  function focusErrorSummary() {
    var summary = $("#error-summary");
    if (summary && document.activeElement !== summary) { summary.focus(); }
  }

  function feedbackPage() {
    var next = $("#next-anchor-top");
    if (!next) { return; }
    var hint = $("#feedback-shortcut");
    if (hint) { hint.hidden = false; }
    document.addEventListener("keydown", function (event) {
      if (event.ctrlKey || event.metaKey || event.altKey || typing(event.target)) { return; }
      if (event.key === "n") { event.preventDefault(); window.location.href = next.href; }
    });
  }

  function scorePage(form) {
    var status = $("#draft-status");
    var announce = $("#shortcut-status");
    var notes = form.querySelector("textarea[name=notes]");
    var counter = $("#notes-count");
    var max = notes ? parseInt(notes.getAttribute("data-max"), 10) : 0;
    var fieldsets = all("fieldset.criterion", form);
    var panel = $("#review-panel");
    var dirty = false;
    var signedOut = false;
    var timer = null;
    var current = 0;

    function say(text) { if (announce) { announce.textContent = ""; announce.textContent = text; } }

    /* Notes counter */
    function count() {
      if (!notes || !counter) { return; }
      var n = notes.value.length;
      if (n > max) {
        counter.textContent = (n - max).toLocaleString("en-GB") + " characters too many (the limit is " + max.toLocaleString("en-GB") + ")";
        counter.className = "hint over-limit";
      } else {
        counter.textContent = n.toLocaleString("en-GB") + " of " + max.toLocaleString("en-GB") + " characters";
        counter.className = "hint";
      }
    }

    /* Drafts */
    function save() {
      if (!dirty || signedOut) { return; }
      dirty = false;
      var data = new FormData(form);
      data.set("action", "draft");
      fetch(form.getAttribute("data-draft-url"), {
        method: "POST", body: data, credentials: "same-origin", headers: { "Accept": "application/json" }
      }).then(function (response) {
        var type = response.headers.get("Content-Type") || "";
        if (response.redirected || type.indexOf("application/json") !== 0) {
          signedOut = true;
          status.textContent = "You have been signed out. What you typed is still on this page: choose “Review my scores” or “Save draft” and log in again to keep it.";
          status.className = "notice notice-warning";
          return null;
        }
        return response.json().then(function (body) {
          if (body.saved) {
            status.textContent = "Draft saved at " + body.saved_at + ".";
            status.className = "muted";
          } else {
            status.textContent = "Draft not saved: " + (body.errors && body.errors.notes ? body.errors.notes[0] : body.message);
            status.className = "notice notice-error";
          }
        });
      }).catch(function () {
        dirty = true;
        status.textContent = "Draft not saved (no connection); trying again shortly.";
      });
    }
    function changed() {
      dirty = true;
      if (timer) { clearTimeout(timer); }
      timer = setTimeout(save, CHANGE_DELAY_MS);
    }
    form.addEventListener("change", changed);
    if (notes) { notes.addEventListener("input", function () { count(); dirty = true; }); }
    setInterval(save, AUTOSAVE_MS);

    /* Review in the page */
    function chosen(fieldset) {
      var input = fieldset.querySelector("input[type=radio]:checked");
      if (!input) { return null; }
      return $("#" + input.id + "-name").textContent;
    }
    function review() {
      panel.textContent = "";
      var heading = el("h2", { id: "review-panel-title" }, "Check your scores");
      panel.appendChild(heading);
      var table = el("table", { "class": "data review" });
      table.appendChild(el("caption", {}, "Your levels"));
      var head = el("tr");
      head.appendChild(el("th", { scope: "col" }, "Criterion"));
      head.appendChild(el("th", { scope: "col" }, "Your level"));
      var thead = el("thead"); thead.appendChild(head); table.appendChild(thead);
      var body = el("tbody");
      var missing = 0;
      fieldsets.forEach(function (fieldset) {
        var row = el("tr");
        row.appendChild(el("th", { scope: "row" }, fieldset.getAttribute("data-title")));
        var cell = el("td");
        var level = chosen(fieldset);
        if (level) { cell.textContent = level; } else {
          missing += 1;
          var link = el("a", { href: "#" + fieldset.querySelector("input[type=radio]").id }, "Not chosen: choose a level");
          link.className = "missing";
          cell.appendChild(link);
        }
        row.appendChild(cell); body.appendChild(row);
      });
      table.appendChild(body);
      panel.appendChild(table);
      var tooLong = notes && notes.value.length > max;
      var row = el("div", { "class": "button-row" });
      if (missing || tooLong) {
        var problem = missing ? "Choose a level for every criterion before you submit." : "Your notes are over the limit of " + max.toLocaleString("en-GB") + " characters; shorten them before you submit.";
        panel.appendChild(el("p", { "class": "notice notice-error" }, problem));
      } else {
        /* A practice round says what happens there instead (data-final-warning, data-submit-label). */
        var warning = form.getAttribute("data-final-warning") || "When you submit, your scores are final, cannot be changed. The master key and its rationale are shown next.";
        panel.appendChild(el("div", { "class": "notice notice-warning", id: "final-warning-js" }, warning));
        var submit = el("button", { type: "submit", name: "action", value: "submit", "class": "button primary", id: "final-submit", "aria-describedby": "final-warning-js" }, form.getAttribute("data-submit-label") || "Submit final scores");
        row.appendChild(submit);
      }
      var back = el("button", { type: "button", "class": "button" }, "Change my scores");
      back.addEventListener("click", function () { panel.hidden = true; $("#review-button").focus(); });
      row.appendChild(back);
      panel.appendChild(row);
      panel.hidden = false;
      panel.focus();
      say("Check your scores: " + (missing ? missing + " not chosen." : "all criteria chosen."));
    }
    function complete() {
      return fieldsets.every(function (fieldset) { return chosen(fieldset) !== null; }) &&
        !(notes && notes.value.length > max);
    }
    form.addEventListener("submit", function (event) {
      /* A complete form is reviewed in the page; anything missing goes to the server, whose
         answer names and links each problem (the error summary). */
      if (event.submitter && event.submitter.value === "review" && complete()) {
        event.preventDefault();
        review();
      }
      if (event.submitter && event.submitter.value === "submit") { dirty = false; signedOut = true; }
    });

    /* Keyboard shortcuts */
    var list = $("#shortcuts");
    if (list) { list.hidden = false; }
    function goTo(index) {
      if (!fieldsets.length) { return; }
      current = Math.max(0, Math.min(fieldsets.length - 1, index));
      var fieldset = fieldsets[current];
      var target = fieldset.querySelector("input[type=radio]:checked") || fieldset.querySelector("input[type=radio]");
      target.focus();
      var level = chosen(fieldset);
      say("Criterion " + (current + 1) + " of " + fieldsets.length + ": " + fieldset.getAttribute("data-title") +
        (level ? ". Chosen: " + level + "." : ". No level chosen."));
    }
    form.addEventListener("focusin", function (event) {
      var fieldset = event.target.closest && event.target.closest("fieldset.criterion");
      if (fieldset) { current = fieldsets.indexOf(fieldset); }
    });
    document.addEventListener("keydown", function (event) {
      if (event.ctrlKey || event.metaKey || event.altKey || typing(event.target)) { return; }
      var key = event.key;
      if (/^[1-9]$/.test(key) && fieldsets.length) {
        var radios = all("input[type=radio]", fieldsets[current]);
        var radio = radios[parseInt(key, 10) - 1];
        if (!radio) { return; }
        event.preventDefault();
        radio.checked = true;
        radio.dispatchEvent(new Event("change", { bubbles: true }));
        var title = fieldsets[current].getAttribute("data-title");
        var level = chosen(fieldsets[current]);
        if (current < fieldsets.length - 1) {
          goTo(current + 1);
          say(title + ": " + level + " chosen. Now criterion " + (current + 1) + " of " + fieldsets.length + ": " + fieldsets[current].getAttribute("data-title") + ".");
        } else {
          radio.focus();
          say(title + ": " + level + " chosen. That was the last criterion: press r to review.");
        }
      } else if (key === "j" || key === "n") {
        event.preventDefault(); goTo(current + 1);
      } else if (key === "k" || key === "p") {
        event.preventDefault(); goTo(current - 1);
      } else if (key === "r") {
        event.preventDefault();
        if (complete()) { review(); } else { $("#review-button").click(); }
      } else if (key === "s") {
        event.preventDefault(); dirty = true; save();
      }
    });

    count();
  }

  document.addEventListener("DOMContentLoaded", function () {
    focusErrorSummary();
    var form = $("#score-form");
    if (form) { scorePage(form); } else { feedbackPage(); }
  });
}());
