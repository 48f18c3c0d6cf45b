/**
 * Hides credentials in anything that looks like a URL, for messages and summaries: a password
 * (`user:***@`), and a user name alone where it may be a token (`https://TOKEN@host`). SSH user
 * names are kept: they say who connects and are no secret.
 */
export function redactUrl(text: string): string {
  return text.replace(/([a-z][a-z0-9+.-]*):\/\/([^/@\s:]*)(:[^/@\s]*)?@/gi, (_, scheme: string, user: string, password: string | undefined) => {
    if (password !== undefined) return `${scheme}://${user}:***@`;
    return /^ssh(-ng)?$/i.test(scheme) ? `${scheme}://${user}@` : `${scheme}://***@`;
  });
}

/** The passwords in `scheme://user:password@` parts of a text, as written (what `redactUrl` hides). */
export function urlPasswords(text: string): string[] {
  return [...text.matchAll(/[a-z][a-z0-9+.-]*:\/\/[^/@\s:]*:([^/@\s]+)@/gi)].map((match) => match[1] as string);
}
