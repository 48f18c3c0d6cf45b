import { sshHelperScript } from '../../host-scripts/index.js';

/** Where the helper (host/ssh/fleet-helper.sh) lives on a host: /run is a tmpfs, so a reboot clears it and every state file. */
export const HELPER_DIR = '/run/fleet';
export const HELPER_PATH = `${HELPER_DIR}/activate.sh`;

/** The helper's text, as it is installed on hosts. */
export const helperScript = sshHelperScript;

/** The remote command that installs the helper from stdin and prints the host's state. */
export const INSTALL_AND_STATE = `umask 077 && mkdir -p ${HELPER_DIR} && cat > ${HELPER_DIR}/.activate.sh.$$ && mv -f ${HELPER_DIR}/.activate.sh.$$ ${HELPER_PATH} && exec /bin/sh ${HELPER_PATH} state "$1"`;
