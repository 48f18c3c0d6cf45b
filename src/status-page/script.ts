/**
 * The page's only script, inline: filters and sorting over the rows rendered on the server. It
 * reads the hosts from the page's JSON block and only ever moves or hides existing rows, so no
 * host-provided text is parsed as HTML here. Plain ES5, kept as text: it runs in the browser, not
 * in Node.
 */
export const STATUS_PAGE_SCRIPT = `
(function () {
  'use strict';
  var data = JSON.parse(document.getElementById('fleet-status-data').textContent);
  var body = document.getElementById('hosts-body');
  var rows = Array.prototype.slice.call(body.rows);
  var selects = Array.prototype.slice.call(document.querySelectorAll('select[data-filter]'));
  var headers = Array.prototype.slice.call(document.querySelectorAll('th[data-sort]'));
  var shown = document.getElementById('shown-count');
  var sorted = { key: null, direction: 1 };

  function hostOf(row) { return data.hosts[Number(row.getAttribute('data-index'))]; }

  function matches(host) {
    return selects.every(function (select) {
      var value = select.value;
      if (value === '') return true;
      var key = select.getAttribute('data-filter');
      return key === 'tag' ? host.tags.indexOf(value) >= 0 : host[key] === value;
    });
  }

  function filter() {
    var count = 0;
    rows.forEach(function (row) {
      var visible = matches(hostOf(row));
      row.hidden = !visible;
      if (visible) count++;
    });
    shown.textContent = count + ' of ' + rows.length + ' hosts shown';
  }

  function compare(a, b, key, direction) {
    var x = hostOf(a).sort[key], y = hostOf(b).sort[key];
    if (x === y) return hostOf(a).sort.host < hostOf(b).sort.host ? -1 : 1;
    // Missing values go last whichever way the column is sorted.
    if (x === null) return 1;
    if (y === null) return -1;
    return (x < y ? -1 : 1) * direction;
  }

  function sortBy(key) {
    sorted.direction = sorted.key === key ? -sorted.direction : 1;
    sorted.key = key;
    rows.sort(function (a, b) { return compare(a, b, key, sorted.direction); });
    rows.forEach(function (row) { body.appendChild(row); });
    headers.forEach(function (th) {
      if (th.getAttribute('data-sort') === key) th.setAttribute('aria-sort', sorted.direction === 1 ? 'ascending' : 'descending');
      else th.removeAttribute('aria-sort');
    });
  }

  selects.forEach(function (select) { select.addEventListener('change', filter); });
  headers.forEach(function (th) {
    th.querySelector('button').addEventListener('click', function () { sortBy(th.getAttribute('data-sort')); });
  });
  document.getElementById('filters').hidden = false;
  filter();
})();
`;
