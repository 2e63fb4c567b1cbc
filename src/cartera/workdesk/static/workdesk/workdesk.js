/* Keyboard shortcuts and small comforts of the workdesk. Everything works without it. */
(function () {
  "use strict";

  function typing(target) {
    if (!target) return false;
    var tag = target.tagName;
    return tag === "INPUT" || tag === "TEXTAREA" || tag === "SELECT" || target.isContentEditable;
  }

  function openContactPanel() {
    var panel = document.getElementById("panel-contact");
    if (!panel) return false;
    panel.open = true;
    var first = panel.querySelector("select, input:not([type=hidden]), textarea");
    if (first) first.focus();
    panel.scrollIntoView({ block: "nearest" });
    return true;
  }

  document.addEventListener("keydown", function (event) {
    if (event.ctrlKey || event.metaKey || event.altKey || typing(event.target)) return;
    if (event.key === "/") {
      var search = document.getElementById("global-search");
      if (search) { event.preventDefault(); search.focus(); search.select(); }
    } else if (event.key === "n") {
      var next = document.getElementById("next-account");
      if (next) { event.preventDefault(); window.location.href = next.href; }
    } else if (event.key === "l") {
      if (openContactPanel()) event.preventDefault();
    }
  });

  /* The log-contact form: show the promise or callback fields only for those outcomes, and
     tick "right party" when the outcome implies it. */
  function wireOutcome(root) {
    var select = (root || document).querySelector("select[data-outcome]");
    if (!select) return;
    var form = select.form;
    var rpc = form.querySelector("input[name$='right_party']");
    function sync() {
      var option = select.options[select.selectedIndex];
      var category = option ? option.getAttribute("data-category") : "";
      form.querySelectorAll("fieldset[data-when]").forEach(function (set) {
        var show = set.getAttribute("data-when") === category;
        set.hidden = !show;
        set.querySelectorAll("input").forEach(function (input) { input.disabled = !show; });
      });
      if (rpc && option && option.value) {
        if (option.getAttribute("data-reached") === "0") { rpc.checked = false; rpc.disabled = true; }
        else { rpc.disabled = false; if (option.getAttribute("data-rpc") === "1") rpc.checked = true; }
      }
    }
    select.addEventListener("change", sync);
    sync();
  }

  /* A refused or failed in-page action (403, 404, 500, no network) says so instead of
     silently doing nothing. */
  function say(text) {
    var main = document.getElementById("main");
    if (!main || !text) return;
    var notice = document.createElement("p");
    notice.className = "notice error";
    notice.setAttribute("role", "alert");
    notice.textContent = text;
    main.insertBefore(notice, main.firstChild);
    window.scrollTo({ top: 0 });
  }
  document.addEventListener("htmx:responseError", function (event) {
    var status = event.detail.xhr ? event.detail.xhr.status : "";
    say((document.body.getAttribute("data-error") || "Error") + " (" + status + ")");
  });
  document.addEventListener("htmx:sendError", function () {
    say(document.body.getAttribute("data-offline") || "Offline");
  });

  document.addEventListener("DOMContentLoaded", function () { wireOutcome(document); });
  document.body && document.body.addEventListener("htmx:afterSwap", function (event) {
    wireOutcome(document);
    /* After an in-page action, say what happened: focus the notice, or the first error. */
    var error = document.querySelector("#account-main .invalid input, #account-main .invalid select, #account-main .invalid textarea");
    var notice = document.getElementById("notice");
    if (error) error.focus();
    else if (notice) notice.focus();
  });
})();
