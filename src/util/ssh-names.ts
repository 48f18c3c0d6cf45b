/**
 * Host and user names that reach ssh's argv (`user@host`). Neither may start with "-", which ssh
 * would read as an option (`-oProxyCommand=…` runs a command), nor need quoting.
 */
export const SSH_HOST = /^[A-Za-z0-9][A-Za-z0-9._-]*$|^[0-9a-fA-F:]+$/;
export const SSH_USER = /^[A-Za-z_][A-Za-z0-9_.-]*$/;
