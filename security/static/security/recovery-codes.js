// The recovery codes page: "Copy" puts every code on the clipboard, one a line. Shown only where the browser can.
(function () {
  "use strict";
  const button = document.getElementById("recovery-copy");
  if (!button || !navigator.clipboard) return;
  button.hidden = false;
  button.addEventListener("click", async function () {
    try {
      await navigator.clipboard.writeText(button.dataset.codes.split(" ").join("\n") + "\n");
      button.textContent = "Copied";
    } catch (e) {
      button.textContent = "Copying was refused: use the download";
    }
  });
})();
