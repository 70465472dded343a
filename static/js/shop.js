// Every tap acknowledged, nothing sent twice. Optional: every page works
// without it (the server refuses duplicates on its own).
// - A form with data-busy="…": once submitted, its buttons are disabled and
//   the pressed one says what is happening ("Paiement en cours…").
// - A form with data-autosubmit (the cart): a changed quantity is sent at
//   once, so no "update" button is needed.
// - The pay page: the wallet number field shows only for a choice marked
//   data-needs-phone (without JS it stays visible; the server ignores it).
// - Grid pictures below the first row load as they near the screen.
// - The checkout form keeps what was typed across a language switch.
(function () {
  "use strict";
  document.documentElement.className += " js";
  // An error summary takes focus, so a screen reader reads it first.
  var summary = document.getElementById("error-summary");
  if (summary && document.activeElement !== summary) summary.focus();
  function lock(form, submitter) {
    if (form.getAttribute("data-sent")) return false;
    form.setAttribute("data-sent", "1");
    var busy = form.getAttribute("data-busy");
    // Disabled after the browser has read the form, so the pressed button's
    // name and value are still sent.
    window.setTimeout(function () {
      var buttons = form.querySelectorAll("button, input[type=submit]");
      for (var i = 0; i < buttons.length; i++) buttons[i].disabled = true;
      if (busy && submitter) {
        submitter.setAttribute("data-label", submitter.textContent);
        submitter.textContent = busy;
      }
      form.setAttribute("aria-busy", "true");
    }, 0);
    return true;
  }
  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (!form.hasAttribute("data-busy") && !form.hasAttribute("data-autosubmit")) return;
    if (!lock(form, event.submitter)) event.preventDefault();
  });
  var phoneField = document.getElementById("payer-phone-field");
  function showPhone() {
    var chosen = document.querySelector("input[name=choice]:checked");
    phoneField.hidden = !!chosen && !chosen.hasAttribute("data-needs-phone");
  }
  if (phoneField) showPhone();
  document.addEventListener("change", function (event) {
    var field = event.target;
    if (phoneField && field.name === "choice") showPhone();
    var form = field.form;
    if (!form || !form.hasAttribute("data-autosubmit") || field.type !== "number") return;
    if (form.requestSubmit) form.requestSubmit(); else form.submit();
  });
  // Grid pictures below the first row (img.later) load only when they come
  // within a screen's reach: a browser's own lazy loading fetches nearly a
  // whole 24-card grid at once on a phone (UX review 2026-12-03, U-01).
  var later = document.querySelectorAll("img.later");
  function show(img) {
    var srcset = img.getAttribute("data-srcset");
    if (srcset) {
      img.sizes = img.getAttribute("data-sizes");
      img.srcset = srcset;
    }
    img.src = img.getAttribute("data-src");
    img.className = "";
  }
  if (later.length && "IntersectionObserver" in window) {
    var watch = new IntersectionObserver(function (entries) {
      for (var i = 0; i < entries.length; i++) {
        if (!entries[i].isIntersecting) continue;
        watch.unobserve(entries[i].target);
        show(entries[i].target);
      }
    }, { rootMargin: "0px 0px 120px 0px" });
    for (var k = 0; k < later.length; k++) watch.observe(later[k]);
  } else {
    for (var m = 0; m < later.length; m++) show(later[m]);
  }
  // A form with data-keep (checkout): what was typed survives a language
  // switch or a reload in this tab (UX review 2026-12-03, U-11); it is
  // forgotten once the form is sent, and never fills a form the server
  // sent back with errors (that one already holds what was sent).
  var kept = document.querySelector("form[data-keep]");
  var store = null;
  try { store = window.sessionStorage; } catch (e) { store = null; }
  if (kept && store) {
    var KEY = "kept:" + location.pathname;
    var save = function () {
      var data = {};
      for (var i = 0; i < kept.elements.length; i++) {
        var el = kept.elements[i];
        if (el.name && el.type !== "hidden" && el.type !== "submit") data[el.name] = el.value;
      }
      store.setItem(KEY, JSON.stringify(data));
    };
    if (!summary) {
      var saved = {};
      try { saved = JSON.parse(store.getItem(KEY) || "{}"); } catch (e) { saved = {}; }
      for (var name in saved) {
        var el = kept.elements[name];
        if (!el || el.type === "hidden" || typeof saved[name] !== "string") continue;
        var before = el.value;
        el.value = saved[name];
        if (el.value !== saved[name]) el.value = before; // a country no longer listed
      }
    }
    kept.addEventListener("input", save);
    kept.addEventListener("change", save);
    kept.addEventListener("submit", function () { store.removeItem(KEY); });
  }
  // Back from the next page (bfcache): the form is usable again.
  window.addEventListener("pageshow", function (event) {
    if (!event.persisted) return;
    var forms = document.querySelectorAll("form[data-sent]");
    for (var i = 0; i < forms.length; i++) {
      forms[i].removeAttribute("data-sent");
      forms[i].removeAttribute("aria-busy");
      var buttons = forms[i].querySelectorAll("button, input[type=submit]");
      for (var j = 0; j < buttons.length; j++) {
        buttons[j].disabled = false;
        var label = buttons[j].getAttribute("data-label");
        if (label) buttons[j].textContent = label;
      }
    }
  });
})();
