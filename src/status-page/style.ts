/** The page's only style sheet, inline: the page must read offline, on a phone as well as a desk. */
export const STATUS_PAGE_CSS = `
:root { color-scheme: light dark; --ok: #1f7a1f; --wait: #8a6d00; --bad: #b00020; --off: #666; --line: #8884; }
* { box-sizing: border-box; }
body { font: 15px/1.4 system-ui, sans-serif; margin: 0; padding: 1rem; }
h1 { font-size: 1.4rem; margin: 0 0 .25rem; }
h2 { font-size: 1.15rem; margin: 1.5rem 0 .5rem; }
code { font: .85em ui-monospace, monospace; overflow-wrap: anywhere; }
.muted { color: var(--off); }
.state { font-weight: 600; white-space: nowrap; }
.state-passing, .state-unchanged, .state-passed { color: var(--ok); }
.state-soaking, .state-waiting, .state-behind { color: var(--wait); }
.state-failed, .state-unreadable { color: var(--bad); }
.state-straggler, .state-unknown, .state-empty { color: var(--off); }
.counts { display: flex; flex-wrap: wrap; gap: .5rem 1rem; padding: 0; list-style: none; }
.waves { display: grid; grid-template-columns: repeat(auto-fill, minmax(18rem, 1fr)); gap: .75rem; }
.wave { border: 1px solid var(--line); border-radius: 6px; padding: .75rem; }
.wave h3 { margin: 0 0 .5rem; font-size: 1.05rem; }
.wave dl { display: grid; grid-template-columns: auto 1fr; gap: .2rem .75rem; margin: 0; }
.wave dt { color: var(--off); }
.wave dd { margin: 0; overflow-wrap: anywhere; }
.filters { display: flex; flex-wrap: wrap; gap: .5rem 1rem; align-items: end; margin-bottom: .5rem; }
.filters label { display: flex; flex-direction: column; font-size: .85rem; }
select { font: inherit; padding: .2rem; }
.table { overflow-x: auto; }
table { border-collapse: collapse; width: 100%; }
th, td { text-align: left; vertical-align: top; padding: .35rem .5rem; border-bottom: 1px solid var(--line); }
th button { font: inherit; font-weight: 600; background: none; border: 0; padding: 0; cursor: pointer; color: inherit; }
th[aria-sort=ascending] button::after { content: " ▲"; }
th[aria-sort=descending] button::after { content: " ▼"; }
.detail { display: block; font-size: .85rem; color: var(--off); }
progress { display: block; width: 8rem; }
.error { display: block; white-space: pre-wrap; overflow-wrap: anywhere; min-width: 14rem; max-width: 28rem; }
td code, td time { white-space: nowrap; }
[hidden] { display: none !important; }
@media (max-width: 720px) {
  body { padding: .5rem; }
  table, tbody, tr, td { display: block; }
  thead tr { display: flex; flex-wrap: wrap; gap: .25rem .75rem; }
  thead th { border: 0; padding: .2rem 0; }
  tbody tr { border: 1px solid var(--line); border-radius: 6px; margin: .5rem 0; padding: .25rem .5rem; }
  td { border: 0; padding: .15rem 0; display: grid; grid-template-columns: 8rem minmax(0, 1fr); gap: 0 .5rem; overflow-wrap: anywhere; }
  td::before { content: attr(data-label); color: var(--off); grid-row: span 2; }
  td > * { grid-column: 2; }
  td code, td time { white-space: normal; overflow-wrap: anywhere; }
  .error { min-width: 0; }
}
`;
