// The run page's live progress: polls the run's progress URL and updates status, steps and log in place.
// The request says it is a poll (X-Portal-Poll), so it does not keep an idle session alive.
(function () {
  "use strict";
  const root = document.getElementById("content-main");
  if (!root || root.dataset.terminal === "true") return;
  const url = root.dataset.progressUrl;
  function text(id, value) { document.getElementById(id).textContent = value; }
  async function poll() {
    let response, data;
    try {
      response = await fetch(url, {credentials: "same-origin", headers: {"X-Portal-Poll": "1"}});
      if (response.status === 401) { location.reload(); return; }
      data = await response.json();
    } catch (e) { setTimeout(poll, 3000); return; }
    text("status", data.status);
    text("step-k", data.step);
    text("step-n", data.steps_total);
    text("elapsed", data.elapsed_seconds === null ? "not started" : Math.round(data.elapsed_seconds) + " s");
    const bar = document.getElementById("progress-bar");
    bar.max = data.steps_total; bar.value = data.steps_over;
    bar.textContent = data.steps_over + " of " + data.steps_total + " steps over";
    const outage = document.getElementById("outage"), o = data.outage;
    outage.style.display = o ? "" : "none";
    outage.className = o && o.live ? "errornote" : "";
    if (o && o.live) outage.textContent = "Neo4j is unavailable now, for " + Math.round(o.seconds) + " s so far: this run stopped it and starts it again.";
    else if (o && o.ended) outage.textContent = "Neo4j was unavailable for " + Math.round(o.seconds) + " s during this run.";
    const pending = document.getElementById("pending-note");
    if (pending && data.status !== "pending") location.reload();
    else if (pending) text("waiting-seconds", Math.round(data.waiting_seconds));
    const err = document.getElementById("error");
    err.textContent = data.error; err.style.display = data.error ? "" : "none";
    for (const step of data.steps) {
      const row = document.querySelector('#steps tr[data-position="' + step.position + '"]');
      if (!row) continue;
      row.querySelector(".step-status").textContent = step.status;
      row.querySelector(".step-took").textContent = step.seconds === null ? "" : step.seconds.toFixed(1) + " s";
      row.classList.toggle("in-outage", step.in_outage);
      const out = row.querySelector(".step-output");
      if (out.textContent !== step.output) { out.textContent = step.output; out.scrollTop = out.scrollHeight; }
    }
    text("log", data.log.map(e => e.at + " " + e.level + " " + (e.step ? "[" + e.step + "] " : "") + e.message).join("\n"));
    if (!data.terminal) setTimeout(poll, 1000);
    else if (document.querySelectorAll(".backup-made").length === 0 && data.status === "succeeded") location.reload();
  }
  // A tool's output ends with what matters ("Dump completed", the error): show each box's end, not its top.
  for (const out of document.querySelectorAll(".step-output")) out.scrollTop = out.scrollHeight;
  setTimeout(poll, 1000);
})();
