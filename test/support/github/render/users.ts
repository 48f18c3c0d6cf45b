import type { EmulatorCore } from '../core.js';
import type { UserRecord } from '../state.js';

/** GitHub's `simple-user`. */
export function renderUser(core: EmulatorCore, user: UserRecord): Record<string, unknown> {
  const u = core.urls;
  const api = (suffix: string): string => u.user(user.login, suffix);
  return {
    login: user.login,
    id: user.id,
    node_id: core.state.nodeId(user.type === 'Organization' ? 'O' : user.type === 'Bot' ? 'BOT' : 'U', user.id),
    avatar_url: `https://avatars.githubusercontent.com/u/${user.id}?v=4`,
    gravatar_id: '',
    url: api(''),
    html_url: user.type === 'Bot' ? `${u.server}/apps/${user.login.replace(/\[bot\]$/, '')}` : u.userHtml(user.login),
    followers_url: api('/followers'),
    following_url: api('/following{/other_user}'),
    gists_url: api('/gists{/gist_id}'),
    starred_url: api('/starred{/owner}{/repo}'),
    subscriptions_url: api('/subscriptions'),
    organizations_url: api('/orgs'),
    repos_url: api('/repos'),
    events_url: api('/events{/privacy}'),
    received_events_url: api('/received_events'),
    type: user.type,
    user_view_type: 'public',
    site_admin: false,
  };
}

/** `team` (requested team reviewers). */
export function renderTeam(core: EmulatorCore, slug: string): Record<string, unknown> {
  const team = core.team(slug);
  const org = core.settings.owner;
  const url = `${core.urls.api}/orgs/${org}/teams/${slug}`;
  return {
    id: team.id,
    node_id: core.state.nodeId('T', team.id),
    name: slug,
    slug,
    description: null,
    privacy: 'closed',
    notification_setting: 'notifications_enabled',
    permission: 'push',
    url,
    html_url: `${core.urls.server}/orgs/${org}/teams/${slug}`,
    members_url: `${url}/members{/member}`,
    repositories_url: `${url}/repos`,
    type: 'organization',
    parent: null,
  };
}
