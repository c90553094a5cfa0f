// A player's profile: amounts and ranks, the verified owner's bio and colour, race
// history, and a chart of daily wagering drawn here in SVG.
import { api, h, monthName, ordinal, replace, reveal, showError, usd } from "/js/common.js";

const $ = (id) => document.getElementById(id);
const uid = new URLSearchParams(location.search).get("uid") || "";
const PERIODS = [["today", "Today"], ["this_week", "This week"], ["this_month", "This month"], ["all_time", "All time"]];
const SVG = "http://www.w3.org/2000/svg";

function svg(tag, attrs, ...children) {
  const el = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, String(v));
  el.append(...children);
  return el;
}

function stat(label, value) {
  return h("div", { class: "stat" }, h("div", { class: "label" }, label), h("div", { class: "value" }, value));
}

/** Bars of each day's wagering (the day's final `today` amount). */
function chart(daily) {
  if (!daily.length) return h("p", { class: "muted" }, "No daily samples yet.");
  const width = 600, height = 180, pad = 24;
  const max = Math.max(...daily.map((d) => d.today), 1);
  // A bar is at most 24 px wide, so a new player's few days do not fill the chart.
  const bar = Math.min((width - pad) / daily.length, 24);
  const bars = daily.map((d, i) => {
    const hgt = ((height - pad) * d.today) / max;
    return svg("rect", { class: "bar", x: pad + i * bar + 1, y: height - pad - hgt, width: Math.max(bar - 2, 1), height: hgt },
      svg("title", {}, `${d.day}: ${usd(d.today)}`));
  });
  return svg("svg", { class: "chart", viewBox: `0 0 ${width} ${height}`, role: "img", "aria-label": `Daily wagering over ${daily.length} days, highest ${usd(max)}` },
    svg("line", { class: "axis", x1: pad, y1: height - pad, x2: width, y2: height - pad }),
    svg("text", { x: 0, y: 12 }, usd(max)),
    svg("text", { x: pad, y: height - 6 }, daily[0].day),
    svg("text", { x: width - 70, y: height - 6 }, daily[daily.length - 1].day),
    ...bars);
}

async function load() {
  try {
    const [profile, stats] = await Promise.all([api(`/api/users/${encodeURIComponent(uid)}`), api(`/api/users/${encodeURIComponent(uid)}/stats`)]);
    document.title = `${profile.name} — goated`;
    replace($("player-name"), profile.name, profile.verified ? h("span", { class: "badge", title: "The owner proved this is their Goated account" }, " verified ") : null);
    if (profile.account) {
      $("player-owner").textContent = `Owned by ${profile.account.username}`;
      $("player-bio").textContent = profile.account.bio;
      if (/^#[0-9a-fA-F]{6}$/.test(profile.account.profileColor || "")) {
        $("profile-head").style.setProperty("--accent", profile.account.profileColor);
      }
    }
    replace($("player-stats"), PERIODS.map(([key, label]) => stat(label, `${usd(profile.wagered[key])}${profile.rank[key] ? ` · ${ordinal(profile.rank[key])}` : ""}`)));
    replace($("chart"), chart(stats.daily));
    const t = stats.totals;
    replace($("player-totals"), stat("Races", String(t.racesEntered)), stat("Wins", String(t.wins)), stat("Podiums", String(t.podiums)), stat("Won", usd(t.totalWon)));
    const rows = stats.raceHistory.map((r) => h("tr", {}, h("td", {}, h("a", { href: `/?race=${r.raceId}` }, monthName(r.raceId))), h("td", {}, ordinal(r.position)), h("td", { class: "num" }, usd(r.wagered)), h("td", { class: "num prize-cell" }, r.prize > 0 ? usd(r.prize) : "")));
    if (!rows.length) rows.push(h("tr", {}, h("td", { colspan: 4, class: "muted" }, "No finished races yet.")));
    replace($("player-races"), rows);
  } catch (err) {
    showError(err);
  } finally {
    reveal();
  }
}

load();
