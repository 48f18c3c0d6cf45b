import { formatDuration } from '../../../src/util/duration.js';
import { formatBytes } from '../../../src/util/bytes.js';
import { escapeHtml, jsonForScript, renderStatusPage, shortSystem } from '../../../src/status-page/index.js';
import { ENVIRONMENTS, HOSTILE_ERROR, HOSTILE_UNIT, STATES, WAVES, statusFleet } from './fixtures.js';

describe('escapeHtml', () => {
  it('escapes every character that could open a tag, an entity or leave an attribute', () => {
    expect(escapeHtml(`<a href="x" title='y'>&amp;</a>`)).toBe('&lt;a href=&quot;x&quot; title=&#39;y&#39;&gt;&amp;amp;&lt;/a&gt;');
  });
});

describe('jsonForScript', () => {
  it('writes no character that could close the script element, and parses back to the same value', () => {
    const value = { error: HOSTILE_ERROR, more: '<!-- <script> & \u2028' };
    const json = jsonForScript(value);
    expect(json).not.toMatch(/[<>&\u2028]/);
    expect(JSON.parse(json)).toEqual(value);
  });
});

describe('shortSystem', () => {
  it('keeps 8 characters of the hash and the name', () => {
    expect(shortSystem(`/nix/store/7sjkn0cx${'a'.repeat(24)}-nixos-system-web1-24.11`)).toBe('7sjkn0cx…-nixos-system-web1-24.11');
    expect(shortSystem('not-a-store-path')).toBe('not-a-store-path');
  });
});

describe('renderStatusPage', () => {
  const { input } = statusFleet(120);
  const page = renderStatusPage(input);

  it('shows a hostile last error and unit name as text, in the table and in the script data', () => {
    expect(page).not.toContain('<img');
    expect(page).not.toContain('<b onmouseover');
    expect(page).toContain(escapeHtml(HOSTILE_ERROR));
    expect(page).toContain(escapeHtml(HOSTILE_UNIT));
    // One closing tag per script element: the data cannot end its block early.
    expect(page.match(/<\/script>/g)).toHaveLength(2);
    const data = /<script type="application\/json" id="fleet-status-data">([^<]*)<\/script>/.exec(page)?.[1];
    expect(JSON.parse(data as string).hosts).toHaveLength(120);
  });

  it('escapes the inventory, holds and problems too', () => {
    expect(page).toContain('freeze &lt;for&gt; audit');
    expect(page).toContain('not JSON: &lt;oops&gt;');
  });

  it('has a row for every host, with its wave, environment and state as words', () => {
    for (const host of input.hosts) {
      const row = new RegExp(`<tr data-index="\\d+" data-host="${host.host}" data-state="${host.state}">(.*?)</tr>`).exec(page)?.[1];
      expect(row).toBeDefined();
      expect(row).toContain(`>${host.state}</span>`);
      expect(row).toContain(host.wave ? `<td data-label="Wave">${host.wave}</td>` : '<td data-label="Wave"><span class="muted">none</span></td>');
      expect(row).toContain(`<td data-label="Environment">${host.environment}</td>`);
    }
  });

  it('lists each wave gate with its quorum, stragglers, failures and readiness', () => {
    for (const wave of input.waves) {
      expect(page).toContain(`<section class="wave" data-wave="${wave.name}">`);
      expect(page).toContain(`${wave.passing} passing / ${wave.required} required of ${wave.seen} seen (${wave.total} hosts, quorum 80%)`);
      expect(page).toContain(`${wave.stragglers.length}: ${wave.stragglers.join(', ')}`);
    }
    expect(page).toContain('<dt>Ready at</dt><dd>2025-03-10T18:00:00Z</dd>');
  });

  it('offers filters for every wave (and no wave), environment, tag and state present', () => {
    for (const value of [...WAVES, '(none)', ...ENVIRONMENTS, 'web', 'clinic', ...STATES]) expect(page).toContain(`<option value="${value}">${value}</option>`);
  });

  it('lists the hosts in no wave after the waves, and counts them in the header', () => {
    const outside = input.hosts.filter((h) => !h.wave);
    expect(outside.length).toBe(6);
    expect(input.hosts.slice(-outside.length)).toEqual(outside);
    expect(page).toContain('120 hosts in 3 waves (6 in no wave).');
  });

  it('shows the download still to come for the hosts that are fetching, as a bar and as text', () => {
    const fetching = input.hosts.filter((h) => h.download);
    expect(fetching.length).toBeGreaterThan(0);
    expect(fetching.some((h) => h.fetchBytesPerSecond)).toBe(true);
    for (const host of fetching) {
      const d = host.download as NonNullable<typeof host.download>;
      const row = new RegExp(`data-host="${host.host}"[^>]*>(.*?)</tr>`).exec(page)?.[1] ?? '';
      const left = `${formatBytes(d.bytes)} of ${formatBytes(d.totalBytes)} left`;
      expect(row).toContain(`<progress max="${d.totalBytes}" value="${d.totalBytes - d.bytes}" aria-label="${left}"></progress><span>${left}</span>`);
      expect(row).toContain(`${d.paths} of ${d.totalPaths} paths, as of <time datetime="${d.measuredAt.toISOString()}">`);
      // At the host's measured rate, how long the rest takes (a link-aware wave's question).
      if (host.fetchBytesPerSecond) expect(row).toContain(`<span class="detail">at most ${formatDuration(Math.ceil(d.bytes / host.fetchBytesPerSecond) * 1000)} at 24.0 KiB/s</span>`);
      else expect(row).not.toContain('at most');
    }
    const idle = input.hosts.find((h) => !h.download);
    expect(new RegExp(`data-host="${idle?.host}"[^>]*>.*?<td data-label="Download"><span class="muted">—</span></td>`).test(page)).toBe(true);
  });

  it('has no download column when no host is fetching', () => {
    const quiet = renderStatusPage({ ...input, hosts: input.hosts.map(({ download: _download, ...h }) => h) });
    expect(quiet).not.toContain('data-label="Download"');
    expect(page).toContain('data-sort="download"');
  });

  it('shows what moving to the expected system changes in the closure, for the hosts that are behind', () => {
    const behind = input.hosts.filter((h) => h.state === 'behind');
    const [grows, unknown] = behind as [(typeof behind)[number], (typeof behind)[number]];
    const sizes = new Map([
      [grows.host, { host: grows.host, change: 3 * 1024 * 1024, download: 1024 * 1024, downloadCompressed: true }],
      [unknown.host, { host: unknown.host, note: 'the new closure is in neither the cache nor the local store' }],
    ]);
    const page = renderStatusPage({ ...input, sizes });
    expect(page).toContain('Closure change');
    expect(page).toMatch(new RegExp(`data-host="${grows.host}".*?<span>\\+3\\.0 MiB</span><span class="detail">download 1\\.0 MiB</span>`, 's'));
    expect(page).toMatch(new RegExp(`data-host="${unknown.host}".*?the new closure is in neither the cache nor the local store`, 's'));
    expect(renderStatusPage(input)).not.toContain('Closure change');
    // With the rate the host's link last delivered: how long that download takes there.
    const measured = renderStatusPage({ ...input, hosts: input.hosts.map((h) => (h.host === grows.host ? { ...h, fetchBytesPerSecond: 2048 } : h)), sizes });
    expect(measured).toMatch(new RegExp(`data-host="${grows.host}".*?<span class="detail">download 1\\.0 MiB</span><span class="detail">about 8m32s at 2\\.0 KiB/s</span>`, 's'));
  });

  it('shows short system paths with the full path in the title', () => {
    const host = input.hosts[0];
    expect(page).toContain(`<code title="${host?.expected}">${shortSystem(host?.expected as string)}</code>`);
  });

  it('loads nothing from elsewhere and allows only its own script', () => {
    expect(page).not.toMatch(/<[^>]*\s(src|href)=/);
    expect(page).not.toMatch(/https?:\/\//);
    expect(page).toMatch(/content="default-src &#39;none&#39;; style-src &#39;unsafe-inline&#39;; script-src &#39;sha256-[A-Za-z0-9+/=]+&#39;/);
  });
});
