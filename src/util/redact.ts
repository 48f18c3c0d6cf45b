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
