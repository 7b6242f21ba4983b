// The entry pass page asks for a fresh pass by itself shortly before the one shown expires.
(function () {
  "use strict";
  var form = document.getElementById("renew");
  if (form) {
    setTimeout(function () { form.submit(); }, Number(form.dataset.renewAfter) * 1000);
  }
})();
