// Waiting page: ask the small status endpoint every few seconds and reload
// once the payment is final. Without JavaScript, a <noscript> refresh does it.
(function () {
  "use strict";
  var box = document.getElementById("payment-status");
  if (!box) return;
  var url = box.getAttribute("data-url");
  var delay = 3000;
  function check() {
    var xhr = new XMLHttpRequest();
    xhr.open("GET", url);
    xhr.onload = function () {
      if (xhr.status === 200) {
        var data = JSON.parse(xhr.responseText);
        if (data.final) { window.location.reload(); return; }
      }
      delay = Math.min(delay * 1.3, 15000);
      window.setTimeout(check, delay);
    };
    xhr.onerror = function () { window.setTimeout(check, 10000); };
    xhr.send();
  }
  window.setTimeout(check, delay);
})();
