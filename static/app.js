// Fetches /api/health and shows it. Values are written with textContent, never HTML.
const fields = document.querySelectorAll("#health [data-field]");
const banner = document.getElementById("banner");

function show(data) {
  for (const dd of fields) {
    const value = data[dd.dataset.field];
    dd.textContent = typeof value === "boolean" ? (value ? "ok" : "not answering") : String(value);
  }
  if (data.source === "demo") {
    banner.textContent = "Demo mode: the players and wagers on this site are simulated.";
    banner.hidden = false;
  }
}

async function refresh() {
  try {
    const resp = await fetch("/api/health", { headers: { accept: "application/json" } });
    const body = await resp.json();
    if (body.status === "success") show(body.data);
    else throw new Error(body.error?.message ?? "unexpected answer");
  } catch (err) {
    banner.textContent = `The server could not be reached: ${err.message}`;
    banner.hidden = false;
  }
}

refresh();
setInterval(refresh, 15000);
