// The face page follows the latest enrollment until the worker has finished with it.
(function () {
  "use strict";
  var box = document.getElementById("enrollment");
  if (!box) {
    return;
  }
  var labels = JSON.parse(document.getElementById("status-labels").textContent);
  var reasons = JSON.parse(document.getElementById("reasons").textContent);
  var photoLabel = box.dataset.photoLabel, okLabel = box.dataset.usedLabel;
  var wasEnrolled = box.dataset.enrolled === "true";
  function show(data) {
    box.dataset.status = data.status;
    box.querySelector(".status").textContent = labels[data.status] || data.status;
    var list = box.querySelector(".photos");
    list.innerHTML = "";
    (data.results || []).forEach(function (result) {
      var item = document.createElement("li");
      item.textContent = photoLabel + " " + result.photo + ": " + (result.accepted ? okLabel : (reasons[result.code] || result.message));
      list.appendChild(item);
    });
    box.querySelector(".reason").textContent = data.reason ? (reasons[data.reason] || data.reason) : "";
    return ["done", "refused", "failed"].indexOf(data.status) === -1;
  }
  function poll() {
    fetch(box.dataset.url, {credentials: "same-origin", headers: {"Accept": "application/json"}})
      .then(function (response) { return response.json(); })
      .then(function (data) {
        if (show(data)) { setTimeout(poll, 500); }
        else if (data.status === "done" && !wasEnrolled) { window.location.replace(box.dataset.faceUrl); }
      });
  }
  poll();
})();
