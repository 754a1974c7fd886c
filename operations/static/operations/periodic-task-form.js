// The periodic task form (Advanced): the chosen crontab said in words under its field, from the JSON data block the
// template writes; the library's separate read-only "translation" row is hidden since this replaces it.
(function () {
  "use strict";
  const data = document.getElementById("readable-crontabs");
  const select = document.getElementById("id_crontab");
  if (!data || !select) return;
  const inWords = JSON.parse(data.textContent);
  const row = document.querySelector(".field-crontab_translation");
  if (row) row.hidden = true;
  const note = document.createElement("div");
  note.className = "help";
  note.id = "crontab-in-words";
  select.closest(".field-crontab, .form-row, div").appendChild(note);
  function show() {
    const words = inWords[select.value];
    note.textContent = words ? "In words: " + words : "";
  }
  select.addEventListener("change", show);
  show();
})();
