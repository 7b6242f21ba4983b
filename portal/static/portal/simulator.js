// The door simulator: take the photo with the camera instead of choosing a file, when the browser can.
(function () {
  "use strict";
  var box = document.getElementById("camera");
  if (!box) {
    return;
  }
  var input = document.getElementById(box.dataset.photoInput);
  var startButton = document.getElementById("camera-start"), takeButton = document.getElementById("camera-take");
  var video = document.getElementById("camera-video"), canvas = document.getElementById("camera-canvas");
  var status = document.getElementById("camera-status");
  var texts = {none: box.dataset.textNone, refused: box.dataset.textRefused, taken: box.dataset.textTaken};
  var stream = null;
  function show(element, visible) { element.hidden = !visible; }
  // Without a camera API, or without a way to put a file into the form, the file field is enough.
  if (!(navigator.mediaDevices && navigator.mediaDevices.getUserMedia && window.DataTransfer && HTMLCanvasElement.prototype.toBlob)) {
    return;
  }
  show(box, true);
  function stop() {
    if (stream) { stream.getTracks().forEach(function (track) { track.stop(); }); stream = null; }
    show(video, false); show(takeButton, false);
  }
  startButton.addEventListener("click", function () {
    navigator.mediaDevices.getUserMedia({video: true, audio: false}).then(function (opened) {
      stop(); stream = opened; video.srcObject = opened; show(video, true); show(takeButton, true);
      show(canvas, false); status.textContent = "";
    }).catch(function (error) {
      status.textContent = (error && (error.name === "NotFoundError" || error.name === "OverconstrainedError")) ? texts.none : texts.refused;
    });
  });
  takeButton.addEventListener("click", function () {
    if (!stream || !video.videoWidth) { return; }
    canvas.width = video.videoWidth; canvas.height = video.videoHeight;
    canvas.getContext("2d").drawImage(video, 0, 0);
    canvas.toBlob(function (blob) {
      if (!blob) { status.textContent = texts.refused; return; }
      var files = new DataTransfer();
      files.items.add(new File([blob], "camera.jpg", {type: "image/jpeg"}));
      input.files = files.files;
      show(canvas, true); status.textContent = texts.taken;
      stop();
    }, "image/jpeg", 0.92);
  });
  // Choosing a file replaces a camera frame.
  input.addEventListener("change", function () { show(canvas, false); status.textContent = ""; });
  window.addEventListener("pagehide", stop);
})();
