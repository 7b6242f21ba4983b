// Every page: choosing a language in the menu switches to it (without script, the button under <noscript> does).
(function () {
  "use strict";
  var menu = document.getElementById("language-switch");
  if (menu) {
    menu.addEventListener("change", function () { menu.form.submit(); });
  }
})();
