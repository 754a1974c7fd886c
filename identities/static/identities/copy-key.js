// "Copy" buttons beside a key shown once: copy the key's text to the clipboard.
document.querySelectorAll("button.copy-key").forEach(function (button) {
  button.addEventListener("click", function () {
    var text = document.getElementById(button.dataset.target).textContent;
    navigator.clipboard.writeText(text).then(function () { button.textContent = "Copied"; });
  });
});
