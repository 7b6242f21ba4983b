// The face page follows the latest enrollment until the worker has finished with it.
//
// It asks for the status at most once a second, and reloads the page once, only when an enrollment
// that was unfinished when the page was rendered is done (the page then shows the new templates).
// An enrollment already finished at render time is shown by the page itself and never asked for:
// after the templates are deleted the last enrollment is still "done", and reloading for it would
// never end.
(function () {
  "use strict";
  var box = document.getElementById("enrollment");
  if (!box) {
    return;
  }
  var FINISHED = ["done", "refused", "failed"];
  var POLL_EVERY_MS = 1000;
  var labels = JSON.parse(document.getElementById("status-labels").textContent);
  var reasons = JSON.parse(document.getElementById("reasons").textContent);
  // "Photo {number}: {outcome}" in the page's language (a Chinese colon in Chinese).
  var photoLine = box.dataset.photoLine, okLabel = box.dataset.usedLabel;
  var unfinishedWhenRendered = FINISHED.indexOf(box.dataset.status) === -1;
  var failures = 0;
  if (!unfinishedWhenRendered && window.location.search) {
    // Nothing to follow: drop `?enrollment=` so that reloading by hand shows the page as it is.
    window.history.replaceState(null, "", box.dataset.faceUrl);
  }
  function show(data) {
    box.dataset.status = data.status;
    box.querySelector(".status").textContent = labels[data.status] || data.status;
    var list = box.querySelector(".photos");
    list.innerHTML = "";
    (data.results || []).forEach(function (result) {
      var item = document.createElement("li");
      var outcome = result.accepted ? okLabel : (reasons[result.code] || result.message);
      item.textContent = photoLine.replace("{number}", result.photo).replace("{outcome}", outcome);
      list.appendChild(item);
    });
    box.querySelector(".reason").textContent = data.reason ? (reasons[data.reason] || data.reason) : "";
  }
  function poll() {
    fetch(box.dataset.url, {credentials: "same-origin", headers: {"Accept": "application/json"}})
      .then(function (response) {
        if (!response.ok) { throw new Error(String(response.status)); }
        return response.json();
      })
      .then(function (data) {
        failures = 0;
        show(data);
        if (FINISHED.indexOf(data.status) === -1) {
          setTimeout(poll, POLL_EVERY_MS);
        } else if (data.status === "done" && unfinishedWhenRendered) {
          unfinishedWhenRendered = false;
          window.location.replace(box.dataset.faceUrl);
        }
      })
      .catch(function () {
        // A passing network or server error: try again, slower each time, and give up after a while.
        failures += 1;
        if (failures < 6) { setTimeout(poll, POLL_EVERY_MS * Math.pow(2, failures)); }
      });
  }
  if (unfinishedWhenRendered) {
    poll();
  }
})();
