/**
 * An AWS failure for a log line: `Name: message` for service errors (AccessDeniedException,
 * InstanceRefreshInProgressFault, InvalidInstanceId, …), whose name says what happened; the bare
 * message for our own errors.
 */
export function awsErrorMessage(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const ours = ['Error', 'AsgError', 'SsmError', 'UserError', 'TypeError'].includes(error.name);
  return ours || error.message.startsWith(error.name) ? error.message : `${error.name}: ${error.message}`;
}
