// The live feed at /ws, shared by the race page and the overlay: `onMessage` gets each
// parsed message; while the socket is down, `refresh` runs every `pollMs` (through the
// HTTP cache) and the socket is tried again with a growing delay. <body data-live> says
// which: open or closed (for people's tools and the browser tests that wait on it).
// No side effects on import: the overlay loads nothing else of the site.
export function follow(onMessage, refresh, pollMs) {
  let timer = null;
  const poll = (on) => {
    clearInterval(timer);
    timer = on ? setInterval(refresh, pollMs) : null;
  };
  const connect = (delay) => {
    const ws = new WebSocket(`${location.protocol === "https:" ? "wss" : "ws"}://${location.host}/ws`);
    ws.addEventListener("open", () => {
      document.body.dataset.live = "open";
      poll(false);
    });
    ws.addEventListener("message", (e) => onMessage(JSON.parse(e.data)));
    ws.addEventListener("close", () => {
      document.body.dataset.live = "closed";
      poll(true);
      setTimeout(() => connect(Math.min(delay * 2, 60000)), delay);
    });
  };
  connect(1000);
}
